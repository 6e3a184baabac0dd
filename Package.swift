// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "auth-gateway",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "JOSE", targets: ["JOSE"]),
        .library(name: "AuthGateway", targets: ["AuthGateway"]),
        .executable(name: "keytool", targets: ["keytool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
            dependencies: ["JOSE", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "keytool",
            dependencies: [
                "JOSE", "AuthGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "jose-bench", dependencies: ["JOSE"], path: "Benchmarks/jose-bench"),
        .testTarget(name: "JOSETests", dependencies: ["JOSE"], resources: [.copy("Vectors")]),
        .testTarget(name: "AuthGatewayTests", dependencies: ["AuthGateway", "JOSE"]),
        .testTarget(name: "keytoolTests", dependencies: ["JOSE"]),
    ]
)
