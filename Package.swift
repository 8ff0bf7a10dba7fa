// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "samia-batch",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "samia-batch", targets: ["samia-batch"]),
        .executable(name: "samia-bench", targets: ["samia-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"4.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C shims: a module map and one header each; pointers never leave the Swift module that wraps them.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CHarfBuzz", pkgConfig: "harfbuzz-subset", providers: [.apt(["libharfbuzz-dev", "libfreetype-dev"])]),
        .systemLibrary(name: "CFriBidi", pkgConfig: "fribidi", providers: [.apt(["libfribidi-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(
            name: "Reports",
            dependencies: [
                "CArchive", "CDeflate", "CHarfBuzz", "CFriBidi", "CQREncode",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(
            name: "Pipelines",
            dependencies: [
                "Postgres", "Reports", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Schema/migrations"), .copy("Schema/dev")],
            swiftSettings: strict, plugins: ["BuildInfo"]),
        .plugin(name: "BuildInfo", capability: .buildTool(), path: "Plugins/BuildInfo"),
        .executableTarget(
            name: "samia-batch",
            dependencies: [
                "Pipelines", "Postgres", "Reports",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "samia-bench",
            dependencies: ["Postgres", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "bench/samia-bench",
            swiftSettings: strict),

        .target(
            name: "TestSupport",
            dependencies: ["Postgres", "Pipelines", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PipelinesTests", dependencies: ["Pipelines", "Postgres", "Reports", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "CLITests", dependencies: ["Postgres", "TestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
