// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "auth-gateway",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "JOSE", targets: ["JOSE"]),
        .library(name: "AuthGateway", targets: ["AuthGateway"]),
        .executable(name: "keytool", targets: ["keytool"]),
        .executable(name: "auth-gateway", targets: ["auth-gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // OpenSSL's libcrypto, found by pkg-config. Only JOSE imports it.
        .systemLibrary(
            name: "CryptoShim",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "JOSE", dependencies: ["CryptoShim"]),
        .target(
            name: "AuthGateway",
            dependencies: [
                "JOSE",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .executableTarget(
            name: "auth-gateway",
            dependencies: [
                "AuthGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "keytool",
            dependencies: [
                "JOSE", "AuthGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "jose-bench", dependencies: ["JOSE"], path: "Benchmarks/jose-bench"),
        .executableTarget(name: "policy-bench", dependencies: ["AuthGateway", "JOSE"], path: "Benchmarks/policy-bench"),
        // What every test target shares: subprocesses, the repository root, and the tools (Python from the
        // virtual environment scripts/setup makes) found the same way scripts/setup installs them.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "JOSETests", dependencies: ["JOSE", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(
            name: "AuthGatewayTests",
            dependencies: [
                "AuthGateway", "JOSE", "TestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                // The raw TLS client of the attack suites (Tests/AuthGatewayTests/Attacks/Support).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // HTTP/2 header blocks in the connection-handling unit tests.
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(name: "keytoolTests", dependencies: ["JOSE", "keytool"]),
    ]
)
