// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

/// A job family: its own module under Sources/Pipelines/NAME, on the runner, storage and schema.
func family(_ name: String, _ extra: [Target.Dependency]) -> Target {
    .target(
        name: name, dependencies: ["Runner", "Storage", "Schema", "Postgres", log, crypto] + extra,
        path: "Sources/Pipelines/\(name)", swiftSettings: strict)
}

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
        // The runner and its layers: what every job shares, knowing no job.
        .target(
            name: "Runner",
            dependencies: ["Postgres", "Reports", log, crypto],
            path: "Sources/Pipelines/Runner", swiftSettings: strict, plugins: ["BuildInfo"]),
        .target(
            name: "Storage", dependencies: ["Runner", "Postgres", log, crypto], path: "Sources/Pipelines/Storage",
            swiftSettings: strict),
        .target(
            name: "Schema", dependencies: ["Runner", "Postgres"], path: "Sources/Pipelines/Schema",
            resources: [.copy("migrations"), .copy("dev")], swiftSettings: strict),

        // The job families: each depends on the runner's layers, and on another family only where
        // it truly uses it (docs/architecture.md says which and why).
        family("Invoicing", ["Reports", yams]),
        family("Reconciliation", ["Invoicing", "Reports", yams]),
        family("Privacy", ["Reports", yams]),
        family("Retention", ["Privacy", "Metrics", yams]),
        family("Metrics", []),
        family("Parity", ["Reports", yams]),
        family("Dev", []),
        .plugin(name: "BuildInfo", capability: .buildTool(), path: "Plugins/BuildInfo"),
        .executableTarget(
            name: "samia-batch",
            dependencies: [
                "Runner", "Storage", "Schema", "Invoicing", "Reconciliation", "Privacy", "Retention", "Metrics",
                "Parity", "Dev", "Postgres", "Reports",
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
            dependencies: ["Postgres", "Runner", "Schema", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PipelinesTests",
            dependencies: [
                "Runner", "Storage", "Schema", "Invoicing", "Reconciliation", "Privacy", "Retention", "Metrics",
                "Parity",
                "Dev", "Postgres", "Reports", "TestSupport",
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CLITests", dependencies: ["Postgres", "TestSupport"], exclude: ["Fixtures"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
