// swift-tools-version:6.2
import PackageDescription

/// Every module of ours: existential `any` spelt out, and in a release build any warning is an
/// error (CI builds release; dependencies keep their own settings).
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"), .treatAllWarnings(as: .error, .when(configuration: .release)),
]
let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

/// A module under Sources/Pipelines/NAME: the runner's layers and the job families.
func pipeline(
    _ name: String, _ dependencies: [Target.Dependency], resources: [Resource]? = nil,
    plugins: [Target.PluginUsage] = []
) -> Target {
    .target(
        name: name, dependencies: dependencies, path: "Sources/Pipelines/\(name)", resources: resources,
        swiftSettings: strict, plugins: plugins)
}

let package = Package(
    name: "samia-batch",
    platforms: [.macOS(.v15)],
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

        // The two thread primitives the rest builds on (a condition with its state, a hand-off).
        .target(name: "Threads", swiftSettings: strict),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "Threads", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(
            name: "Reports",
            dependencies: [
                "CArchive", "CDeflate", "CHarfBuzz", "CFriBidi", "CQREncode", "Threads",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        // The runner and its layers: what every job shares, knowing no job.
        // BuildInfo stamps the git commit into `SamiaVersion` (for `--version` and the ledger).
        pipeline("Runner", ["Threads", "Postgres", "Reports", log, yams], plugins: ["BuildInfo"]),
        pipeline("Storage", ["Runner", "Threads", "Postgres", "Reports", log, crypto]),
        pipeline("Schema", ["Runner", "Postgres"], resources: [.copy("migrations"), .copy("dev")]),

        // The job families: each on the runner's layers, and on another family only where it truly
        // uses it (docs/architecture.md says which and why).
        pipeline("Invoicing", ["Runner", "Storage", "Postgres", "Reports", log, yams]),
        pipeline("Reconciliation", ["Runner", "Storage", "Invoicing", "Postgres", "Reports", yams]),
        pipeline("Privacy", ["Runner", "Storage", "Postgres", "Reports", yams, crypto]),
        pipeline("Retention", ["Runner", "Storage", "Privacy", "Metrics", "Threads", "Postgres", log, yams]),
        pipeline("Metrics", ["Runner", "Threads", "Postgres", "Reports"]),
        pipeline("Parity", ["Runner", "Storage", "Schema", "Postgres", "Reports", yams, crypto]),
        pipeline("Dev", ["Runner", "Schema", "Postgres", log]),
        .plugin(name: "BuildInfo", capability: .buildTool(), path: "Plugins/BuildInfo"),
        .executableTarget(
            name: "samia-batch",
            dependencies: [
                "Runner", "Storage", "Schema", "Invoicing", "Reconciliation", "Privacy", "Retention", "Metrics",
                "Parity", "Dev", "Threads", "Postgres", "Reports",
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
            dependencies: ["Threads", "Postgres", "Schema"],
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
