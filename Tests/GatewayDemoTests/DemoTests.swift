@testable import GatewayTooling
import Foundation
import TestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
@testable import GatewayDemo

/// The demo's building blocks: development certificates checked with the real `openssl`, `curl` and Python
/// `ssl`, and the demo services exercised over real sockets.
@Suite("Demo")
struct DemoTests {
    // MARK: - Development PKI

    @Test func createsFilesOnceAndReusesThem() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        #expect(files.caCertificate == dir.path + "/ca.pem")
        #expect(files.serverCertificateChain == dir.path + "/server.pem")
        #expect(files.serverPrivateKey == dir.path + "/server.key")
        let all = ["ca.pem", "ca.key", "server.pem", "server.key"].map { dir.path + "/" + $0 }
        let before = try all.map(snapshot)
        let again = try DevelopmentPKI.ensure(in: dir.path)
        #expect(again == files)
        #expect(try all.map(snapshot) == before)
        for key in ["ca.key", "server.key"] {
            #expect(try permissions(dir.path + "/" + key) == 0o600, "\(key)")
        }
        #expect(try permissions(files.caCertificate) == 0o644)
        let keyPEM = try String(contentsOfFile: files.serverPrivateKey, encoding: .utf8)
        #expect(keyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
    }

    @Test func opensslVerifiesTheServerCertificate() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        let verify = try openssl([
            "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", files.caCertificate,
            files.serverCertificateChain,
        ])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout == "\(files.serverCertificateChain): OK\n")
        // The key file holds the certificate's key.
        let certificateKey = try openssl(["x509", "-in", files.serverCertificateChain, "-noout", "-pubkey"])
        let privateKey = try openssl(["pkey", "-in", files.serverPrivateKey, "-pubout"])
        #expect(certificateKey.status == 0 && !certificateKey.stdout.isEmpty)
        #expect(certificateKey.stdout == privateKey.stdout)
    }

    @Test func certificatesCarryTheRequiredExtensions() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        let server = try openssl(["x509", "-in", files.serverCertificateChain, "-noout", "-text"]).stdout
        #expect(server.contains("DNS:localhost"))
        #expect(server.contains("IP Address:127.0.0.1"))
        #expect(server.contains("IP Address:0:0:0:0:0:0:0:1") || server.contains("IP Address:::1"))
        #expect(server.contains("CA:FALSE"))
        #expect(server.contains("TLS Web Server Authentication"))
        #expect(server.contains("X509v3 Key Usage: critical\n                Digital Signature\n"))
        #expect(server.contains("X509v3 Authority Key Identifier"))
        #expect(server.contains("ecdsa-with-SHA256"))
        #expect(server.contains("NIST CURVE: P-256"))
        let checkend = ["-noout", "-checkend", "\(360 * 86_400)"]
        #expect(try openssl(["x509", "-in", files.serverCertificateChain] + checkend).status == 0)
        // The file holds only the leaf: clients trust the CA directly.
        let chain = try String(contentsOfFile: files.serverCertificateChain, encoding: .utf8)
        #expect(chain.components(separatedBy: "-----BEGIN CERTIFICATE-----").count == 2)

        let ca = try openssl(["x509", "-in", files.caCertificate, "-noout", "-text"]).stdout
        #expect(ca.contains("X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0"))
        #expect(ca.contains("X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"))
        let caCheckend = ["-noout", "-checkend", "\(3640 * 86_400)"]
        #expect(try openssl(["x509", "-in", files.caCertificate] + caCheckend).status == 0)
        let verifyCA = try openssl(["verify", "-x509_strict", "-CAfile", files.caCertificate, files.caCertificate])
        #expect(verifyCA.status == 0, "\(verifyCA.stderr)")
    }

    @Test func anotherCAsServerCertificateDoesNotVerify() throws {
        let one = try DemoDirectory()
        let other = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: one.path)
        let foreign = try DevelopmentPKI.ensure(in: other.path)
        let verify = try openssl(["verify", "-CAfile", files.caCertificate, foreign.serverCertificateChain])
        #expect(verify.status != 0)
    }

    @Test func serverCertificateIsReissuedWhenNamesChangeOrExpiryNears() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        let ca = try snapshot(files.caCertificate)
        let first = try String(contentsOfFile: files.serverCertificateChain, encoding: .utf8)

        _ = try DevelopmentPKI.ensure(in: dir.path, hostnames: ["localhost", "gateway.test"])
        let renamed = try String(contentsOfFile: files.serverCertificateChain, encoding: .utf8)
        #expect(renamed != first)
        let alternativeNames = try openssl([
            "x509", "-in", files.serverCertificateChain, "-noout", "-ext", "subjectAltName",
        ])
        #expect(alternativeNames.stdout.contains("DNS:gateway.test"))

        // 360 days on, a week before the certificate expires: a new one, valid from then, same CA.
        let later = Date().addingTimeInterval(360 * 86_400)
        _ = try DevelopmentPKI.ensure(
            in: dir.path, hostnames: ["localhost", "gateway.test"], ipAddresses: ["127.0.0.1", "::1"], now: later)
        let renewed = try String(contentsOfFile: files.serverCertificateChain, encoding: .utf8)
        #expect(renewed != renamed)
        #expect(try snapshot(files.caCertificate) == ca)
        let atLater = ["-attime", String(Int(later.timeIntervalSince1970))]
        let verify = try openssl(["verify"] + atLater + ["-CAfile", files.caCertificate, files.serverCertificateChain])
        #expect(verify.status == 0, "\(verify.stderr)")

        // Back at today's clock that certificate is not yet valid, so it is replaced again.
        _ = try DevelopmentPKI.ensure(in: dir.path, hostnames: ["localhost", "gateway.test"])
        #expect(try String(contentsOfFile: files.serverCertificateChain, encoding: .utf8) != renewed)
        let verifyNow = try openssl(["verify", "-CAfile", files.caCertificate, files.serverCertificateChain])
        #expect(verifyNow.status == 0, "\(verifyNow.stderr)")
    }

    @Test func missingServerKeyIsReissuedWithTheSameCA() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        let ca = try snapshot(files.caCertificate)
        try FileManager.default.removeItem(atPath: files.serverPrivateKey)
        _ = try DevelopmentPKI.ensure(in: dir.path)
        #expect(try snapshot(files.caCertificate) == ca)
        let certificateKey = try openssl(["x509", "-in", files.serverCertificateChain, "-noout", "-pubkey"])
        let privateKey = try openssl(["pkey", "-in", files.serverPrivateKey, "-pubout"])
        #expect(certificateKey.stdout == privateKey.stdout)
    }

    @Test func groupReadableKeyIsRestrictedAgain() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: files.serverPrivateKey)
        _ = try DevelopmentPKI.ensure(in: dir.path)
        #expect(try permissions(files.serverPrivateKey) == 0o600)
    }

    @Test func unreadableCAIsAnErrorNotAReplacement() throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        try "not a certificate\n".write(toFile: files.caCertificate, atomically: true, encoding: .utf8)
        #expect(throws: DevelopmentPKIError(.unusableCA, "")) { try DevelopmentPKI.ensure(in: dir.path) }
        #expect(try String(contentsOfFile: files.caCertificate, encoding: .utf8) == "not a certificate\n")
    }

    @Test(arguments: [
        (["bad host"], ["127.0.0.1"]),
        ([""], ["127.0.0.1"]),
        (["localhost"], ["999.1.1.1"]),
        (["localhost"], ["localhost"]),
        ([], []),
    ] as [([String], [String])])
    func rejectsNamesACertificateCannotCarry(_ hostnames: [String], _ addresses: [String]) throws {
        let dir = try DemoDirectory()
        #expect(throws: DevelopmentPKIError(.invalidName, "")) {
            try DevelopmentPKI.ensure(in: dir.path, hostnames: hostnames, ipAddresses: addresses)
        }
    }

    // MARK: - TLS with the development certificates

    @Test func curlAndPythonCompleteAVerifiedHandshake() async throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        let service = try await DemoService.start(
            name: "A", routes: DemoService.routes(forService: "A"), host: "127.0.0.1", port: 0,
            group: MultiThreadedEventLoopGroup.singleton, tls: try tlsContext(files))
        try await stopping(service) { try checkTLSClients(files, port: service.port) }
    }

    private func checkTLSClients(_ files: DevelopmentPKI.Files, port: Int) throws {
        for url in ["https://127.0.0.1:\(port)/api/data", "https://localhost:\(port)/api/data"] {
            let result = try curl([
                "-sS", "--cacert", files.caCertificate, "--resolve", "localhost:\(port):127.0.0.1",
                "-H", "X-User-Id: alice", url,
            ])
            #expect(result.status == 0, "\(url): \(result.stderr)")
            #expect(result.stdout == "Response from Service A\n\nX-User-Id: alice\n")
        }
        // Negative: no trust anchor, or a name the certificate does not carry.
        let untrusted = try curl(["-sS", "https://127.0.0.1:\(port)/api/data"])
        #expect(untrusted.status == 60)
        let wrongName = try curl([
            "-sS", "--cacert", files.caCertificate, "--resolve", "gateway.example:\(port):127.0.0.1",
            "https://gateway.example:\(port)/api/data",
        ])
        #expect(wrongName.status == 60)

        for serverName in ["localhost", "127.0.0.1"] {
            let python = try python(files, port: port, serverName: serverName)
            #expect(python.status == 0, "\(serverName): \(python.stderr)")
            #expect(python.stdout.hasPrefix("TLSv1."))
            #expect(python.stdout.contains("HTTP/1.1 200 OK\r\n"))
            #expect(python.stdout.hasSuffix("\r\n\r\nResponse from Service A\n\nX-User-Id: alice\n"))
        }
        let pythonWrongName = try python(files, port: port, serverName: "gateway.example")
        #expect(pythonWrongName.status != 0)
        #expect(pythonWrongName.stderr.contains("CERTIFICATE_VERIFY_FAILED"))
    }

    @Test func handshakeOverIPv6Loopback() async throws {
        let dir = try DemoDirectory()
        let files = try DevelopmentPKI.ensure(in: dir.path)
        // Not every container has IPv6 loopback; nothing to check without it.
        guard let service = try? await DemoService.start(
            name: "B", routes: DemoService.routes(forService: "B"), host: "::1", port: 0,
            group: MultiThreadedEventLoopGroup.singleton, tls: try tlsContext(files))
        else { return }
        try await stopping(service) {
            let result = try curl(["-sS", "--cacert", files.caCertificate, "https://[::1]:\(service.port)/api/info"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "Response from Service B\n")
        }
    }

    // MARK: - Demo services

    @Test func serviceAEchoesTheIdentityHeaders() async throws {
        let service = try await DemoService.start(name: "A", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        try await stopping(service) {
            #expect(service.port > 0)
            let result = try curl([
                "-s", "-H", "X-User-Id: alice", "-H", "X-Token-Scope: read:data", "-H", "X-User-Roles: admin",
                "-H", "Authorization: Bearer secret", "-H", "X-Request-Id: req-1", "-H", "X-Forwarded-For: 10.0.0.7",
                "-H", "X-Other: no", "http://127.0.0.1:\(service.port)/api/data",
            ])
            #expect(result.status == 0)
            #expect(result.stdout == """
                Response from Service A

                X-User-Id: alice
                X-Token-Scope: read:data
                X-User-Roles: admin
                X-Request-Id: req-1
                X-Forwarded-For: 10.0.0.7

                """)
        }
    }

    @Test(arguments: [
        ("A", "/api/data", 200, "Response from Service A"),
        ("A", "/api/data/", 200, "Response from Service A"),
        ("A", "/api/data/items/7?x=1", 200, "Response from Service A"),
        ("A", "/api/data?x=1", 200, "Response from Service A"),
        ("A", "/admin", 200, "Admin area of Service A"),
        ("A", "/admin/users", 200, "Admin area of Service A"),
        ("A", "/api/database", 404, "Not Found"),
        ("A", "/api/info", 404, "Not Found"),
        ("A", "/", 404, "Not Found"),
        ("B", "/api/info", 200, "Response from Service B"),
        ("B", "/api/info/x", 200, "Response from Service B"),
        ("B", "/api/data", 404, "Not Found"),
        ("B", "/admin", 404, "Not Found"),
    ])
    func routesByPathPrefix(_ name: String, _ path: String, _ status: Int, _ firstLine: String) async throws {
        let service = try await DemoService.start(name: name, port: 0, group: MultiThreadedEventLoopGroup.singleton)
        try await stopping(service) {
            let url = "http://127.0.0.1:\(service.port)\(path)"
            let result = try curl(["-s", "-w", "\n%{http_code} %{content_type}", url])
            let lines = result.stdout.components(separatedBy: "\n")
            #expect(lines.first?.hasPrefix(firstLine) == true, "\(result.stdout)")
            #expect(lines.last == "\(status) text/plain; charset=utf-8")
        }
    }

    @Test func customRoutes() async throws {
        let service = try await DemoService.start(
            name: "C", routes: ["/": "root", "/v1": "version one"], port: 0,
            group: MultiThreadedEventLoopGroup.singleton)
        try await stopping(service) {
            let versioned = try curl(["-s", "http://127.0.0.1:\(service.port)/v1/x"])
            let other = try curl(["-s", "http://127.0.0.1:\(service.port)/v2"])
            #expect(versioned.stdout == "version one\n")
            #expect(other.stdout == "root\n")
        }
    }

    @Test func keepsConnectionsAlive() async throws {
        let service = try await DemoService.start(name: "A", port: 0, group: MultiThreadedEventLoopGroup.singleton)
        try await stopping(service) {
            let base = "http://127.0.0.1:\(service.port)"
            let result = try curl(["-sv", base + "/api/data", base + "/nothing", base + "/admin"])
            #expect(result.stdout == """
                Response from Service A
                Not Found: Service A has no such resource
                Admin area of Service A

                """)
            let reuses = result.stderr.components(separatedBy: "Re-using existing connection").count - 1
            #expect(reuses == 2, "\(result.stderr)")
        }
    }

    @Test func stopReleasesThePortAndClosesIdleConnections() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let service = try await DemoService.start(name: "A", port: 0, group: group)
        let port = service.port
        // An idle keep-alive connection, as the gateway's upstream pool would hold.
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        let started = ContinuousClock.now
        try await service.stop()
        try await client.closeFuture.get()
        // Not a speed check: stop() gives connections a 1 s grace, so this only proves it does not wait
        // for the client (which never closes on its own) — on a loaded machine it may take a few seconds.
        #expect(ContinuousClock.now - started < .seconds(20))
        try await service.stop()

        let refused = try curl(["-s", "http://127.0.0.1:\(port)/api/data"])
        #expect(refused.status == 7)
        let again = try await DemoService.start(name: "A", port: port, group: group)
        #expect(again.port == port)
        try await again.stop()
    }

    // MARK: - Handler

    @Test func handlerAnswersHeadWithoutBodyAndClosesHTTP10() throws {
        let channel = EmbeddedChannel(
            handler: DemoServiceHandler(name: "A", routes: DemoService.RouteTable(DemoService.routes(forService: "A"))))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var headers = HTTPHeaders()
        headers.add(name: "X-User-Id", value: "alice")
        try channel.writeInbound(HTTPServerRequestPart.head(
            HTTPRequestHead(version: .http1_1, method: .HEAD, uri: "/api/data", headers: headers)))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(head.status == .ok)
        #expect(head.headers["Content-Length"] == [String("Response from Service A\n\nX-User-Id: alice\n".utf8.count)])
        guard case .end = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("a HEAD response has no body")
            return
        }
        #expect(channel.isActive)

        try channel.writeInbound(HTTPServerRequestPart.head(
            HTTPRequestHead(version: .http1_0, method: .GET, uri: "/x")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let notFound) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(notFound.status == .notFound)
        #expect(notFound.version == .http1_0)
        #expect(notFound.headers["Connection"] == ["close"])
        guard case .body = try channel.readOutbound(as: HTTPServerResponsePart.self),
            case .end = try channel.readOutbound(as: HTTPServerResponsePart.self)
        else {
            Issue.record("no body and end")
            return
        }
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(try channel.finish(acceptAlreadyClosed: true).isClean)
    }

    // MARK: - Helpers

    /// Runs `body`, then stops `service` whether or not `body` threw.
    private func stopping(_ service: DemoService, _ body: () throws -> Void) async throws {
        do {
            try body()
        } catch {
            try? await service.stop()
            throw error
        }
        try await service.stop()
    }

    private func tlsContext(_ files: DevelopmentPKI.Files) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.serverCertificateChain)
        let key = try NIOSSLPrivateKey(file: files.serverPrivateKey, format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
    }

    /// Modification time, size and content: what must not change when files are reused.
    private func snapshot(_ path: String) throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        return "\(modified) \(try String(contentsOfFile: path, encoding: .utf8))"
    }

    private func permissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}

/// A fresh directory under the system temporary directory, removed when the value is released.
private final class DemoDirectory {
    let path: String

    init() throws {
        path = try TestTools.temporaryDirectory(prefix: "demo")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

private typealias Output = (status: Int32, stdout: String, stderr: String)

private func openssl(_ arguments: [String]) throws -> Output { try run(TestTools.openssl, arguments) }
private func curl(_ arguments: [String]) throws -> Output { try run(TestTools.curl, arguments) }

/// Python's `ssl` with the default context (hostname checking on) plus the strict X.509 checks Python 3.13
/// enables by default, sending one request for `/api/data` as alice.
private func python(_ files: DevelopmentPKI.Files, port: Int, serverName: String) throws -> Output {
    try TestTools.requireExecutable(TestTools.python)
    return try run(TestTools.python, ["-c", pythonClient, files.caCertificate, String(port), serverName])
}

private let pythonClient = """
    import socket, ssl, sys
    context = ssl.create_default_context(cafile=sys.argv[1])
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    request = b"GET /api/data HTTP/1.1\\r\\nHost: x\\r\\nX-User-Id: alice\\r\\nConnection: close\\r\\n\\r\\n"
    with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=sys.argv[3]) as tls:
            tls.sendall(request)
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
            sys.stdout.write(tls.version() + "\\n" + data.decode())
    """

/// Runs `executable` to completion and returns its exit status and output.
private func run(_ executable: String, _ arguments: [String]) throws -> Output {
    let directory = try TestTools.temporaryDirectory(prefix: "demo-run")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let result = try Command.runBlocking(executable, arguments, directory: directory)
    return (result.status, result.stdoutText, result.stderrText)
}
