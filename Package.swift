// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "auth-gateway",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "JOSE", targets: ["JOSE"]),
        .executable(name: "keytool", targets: ["keytool"]),
        .executable(name: "auth-gateway", targets: ["auth-gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // Envoy's gRPC ext_authz service (decision mode, protocol envoy_ext_authz_grpc).
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // The layers, each importing only the ones listed below it (docs/ARCHITECTURE.md draws the graph):
        //   CryptoShim ← JOSE ← GatewayPolicy ← GatewayConfig ← GatewayAdmission ← GatewayObservability
        //   ← GatewayAuth ← AuthGateway ← GatewayDemo; GatewayTooling (keytool's policy tools) on the policy
        //   and admission layers only, so keytool links no server code. SourceCommit (the build's commit, for
        //   BuildInfo in GatewayPolicy) stands alone.

        // OpenSSL's libcrypto, found by pkg-config. Only JOSE imports it.
        .systemLibrary(
            name: "CryptoShim",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "JOSE", dependencies: ["CryptoShim"]),
        // The commit a build is made from (`--version`, gateway_build_info), generated at build time by
        // scripts/source-commit: from the checkout, or from .source-commit in a `git archive` tarball.
        .plugin(name: "SourceCommitPlugin", capability: .buildTool()),
        .target(name: "SourceCommit", plugins: ["SourceCommitPlugin"]),
        // Policies: routes, requirements, decisions, canonical paths, the route trie, YAML reading and
        // diagnostics. No networking.
        .target(
            name: "GatewayPolicy",
            dependencies: ["JOSE", "SourceCommit", .product(name: "Yams", package: "Yams")],
            path: "Sources/AuthGateway/Policy"
        ),
        // The operators' configuration: its model and its strict YAML decoding.
        .target(
            name: "GatewayConfig",
            dependencies: [
                "GatewayPolicy", "JOSE",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/AuthGateway/Config"
        ),
        // What happens to one request, as values: guard, token extraction, header filtering and rewriting,
        // answers, outcomes. HTTP value types from NIOHTTP1; no event loop, no I/O.
        .target(
            name: "GatewayAdmission",
            dependencies: [
                "GatewayPolicy", "GatewayConfig", "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/AuthGateway/Admission"
        ),
        // Access log, application log, metrics.
        .target(
            name: "GatewayObservability",
            dependencies: [
                "GatewayAdmission", "GatewayConfig", "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/AuthGateway/Observability"
        ),
        // Issuers' keys: local key sets, remote JWKS fetched and refreshed, the authenticator.
        .target(
            name: "GatewayAuth",
            dependencies: [
                "GatewayPolicy", "GatewayAdmission", "GatewayConfig", "GatewayObservability", "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/AuthGateway/Auth"
        ),
        // A small RESP2 client on NIO for the Redis rate-limit store: a strict reply parser, one pipelined
        // connection per event loop. Knows nothing of the gateway.
        .target(
            name: "GatewayRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/AuthGateway/Redis"
        ),
        // keytool's policy tools: lint, test, explain.
        .target(
            name: "GatewayTooling",
            dependencies: [
                "GatewayPolicy", "JOSE", .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Sources/AuthGateway/Tooling"
        ),
        // The server: snapshot assembly, listeners, TLS, HTTP/1.1 and HTTP/2, the proxy data path, the pool,
        // reload and shutdown, the admin listener.
        .target(
            name: "AuthGateway",
            dependencies: [
                "JOSE", "GatewayPolicy", "GatewayConfig", "GatewayAdmission", "GatewayObservability", "GatewayAuth",
                "GatewayRedis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/AuthGateway/Gateway"
        ),
        // `auth-gateway demo`: a development PKI, two demo services, the demo configuration.
        .target(
            name: "GatewayDemo",
            dependencies: [
                "AuthGateway", "GatewayConfig", "GatewayObservability", "GatewayTooling", "JOSE",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Sources/AuthGateway/Demo"
        ),
        .executableTarget(
            name: "auth-gateway",
            dependencies: [
                "AuthGateway", "GatewayConfig", "GatewayDemo", "GatewayObservability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "keytool",
            dependencies: [
                "JOSE", "GatewayPolicy", "GatewayTooling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "jose-bench", dependencies: ["JOSE"], path: "Benchmarks/jose-bench"),
        .executableTarget(name: "policy-bench", dependencies: ["GatewayPolicy", "JOSE"], path: "Benchmarks/policy-bench"),
        // What every test target shares: subprocesses, the repository root, the tools (Python from the
        // virtual environment scripts/setup makes) found the same way scripts/setup installs them, and
        // policy fixtures.
        .target(
            name: "TestSupport",
            dependencies: ["GatewayPolicy", "JOSE"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "JOSETests", dependencies: ["JOSE", "TestSupport"], resources: [.copy("Vectors")]),
        .testTarget(name: "GatewayPolicyTests", dependencies: ["GatewayPolicy", "JOSE", "TestSupport"]),
        .testTarget(name: "GatewayConfigTests", dependencies: ["GatewayConfig", "GatewayPolicy", "JOSE", "TestSupport"]),
        .testTarget(
            name: "GatewayAdmissionTests",
            dependencies: [
                "GatewayAdmission", "GatewayConfig", "GatewayPolicy", "JOSE", "TestSupport",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayRedisTests",
            dependencies: [
                "GatewayRedis", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "GatewayToolingTests", dependencies: ["GatewayTooling", "GatewayPolicy", "JOSE", "TestSupport"]),
        .testTarget(
            name: "GatewayDemoTests",
            dependencies: [
                "GatewayDemo", "AuthGateway", "GatewayConfig", "GatewayTooling", "JOSE", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "AuthGatewayTests",
            dependencies: [
                "AuthGateway", "GatewayPolicy", "GatewayConfig", "GatewayAdmission", "GatewayObservability",
                "GatewayAuth", "GatewayTooling", "GatewayDemo", "JOSE", "TestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                // The raw TLS client of the attack suites (Tests/AuthGatewayTests/Attacks/Support).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // HTTP/2 header blocks and stream payloads in the connection-handling unit tests, and NIO's own
                // HTTP/2 → HTTP/1 codec as the reference for the gateway's translation.
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(
            name: "GatewayObservabilityTests",
            dependencies: [
                "GatewayObservability", "GatewayAdmission", "GatewayPolicy", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayAuthTests",
            dependencies: [
                "GatewayAuth", "GatewayAdmission", "GatewayPolicy", "JOSE", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "keytoolTests", dependencies: ["JOSE", "keytool", "SourceCommit", "TestSupport"]),
    ]
)
