import Foundation
import TestSupport
import Testing

/// 50 MB bodies both ways through the real `auth-gateway serve` process, with its memory measured from
/// /proc/PID/status. A separate process, so that other tests running in parallel in this process do not
/// blur the measurement: VmHWM is the gateway's own peak resident memory.
@Suite("End to end: streaming large bodies", .serialized)
struct StreamingEndToEndTests {
    static let size = 50 * 1024 * 1024
    /// A proxy that buffered a whole body would grow by at least 50 MB; streaming with backpressure needs
    /// a few windows of 64 KiB–1 MiB. 40 MB leaves room for allocator noise in a debug build.
    static let memoryBoundKilobytes = 40 * 1024

    private static func scratchDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gw-e2e-stream-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// SHA-256 of a file, with the coreutils tool (an independent implementation).
    private static func sha256(ofFile path: String, directory: String) async throws -> String {
        let result = try await Command.run("/usr/bin/sha256sum", [path], directory: directory, timeout: 30)
        return String(result.stdoutText.prefix(64))
    }

    /// Starts the binary with one recording upstream, warms it up with one small request, and returns
    /// the gateway, the upstream and the baseline peak memory.
    private static func startGateway(_ behaviour: RecordingUpstream.Behaviour, directory: String) async throws
        -> (GatewayProcess, RecordingUpstream, Int)
    {
        let upstream = try await RecordingUpstream.start(behaviour, in: directory)
        let config = try GatewayBinary.writeConfiguration(
            GatewayBinary.configuration(upstream: [upstream.url], accessLog: "off"), in: directory)
        let gateway = try await GatewayProcess.start(configPath: config, directory: directory)
        let token = try Self.token(scope: "read:data")
        let warm = try await Curl.request(gateway, "/public/warm", headers: ["Authorization: Bearer \(token)"])
        #expect(warm.status == 200)
        let baseline = try #require(gateway.peakResidentKilobytes)
        return (gateway, upstream, baseline)
    }

    static func token(sub: String = "uploader", scope: String) throws -> String {
        try GatewayTokens.token(sub: sub, scope: scope)
    }

    @Test("a 50 MB upload streams through: the upstream gets every byte, gateway memory stays bounded")
    func upload() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let payload = directory + "/payload.bin"
        let made = try await Command.run(E2EPaths.openssl, ["rand", "-out", payload, String(Self.size)], directory: directory)
        try #require(made.status == 0)
        let expectedHash = try await Self.sha256(ofFile: payload, directory: directory)

        let (gateway, upstream, baseline) = try await Self.startGateway(.init(name: "sink"), directory: directory)
        let mark = upstream.mark()
        let started = Date()
        let response = try await Curl.request(
            gateway, "/upload/blob", method: "POST",
            headers: ["Authorization: Bearer \(try Self.token(scope: "write:data"))", "Content-Type: application/octet-stream"],
            dataFile: payload, timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        #expect(response.status == 200, "body: \(response.bodyText.prefix(500))")
        let requests = await upstream.waitForRequests(1, since: mark)
        #expect(requests.first?.bodyLength == Self.size)
        #expect(requests.first?.bodySHA256 == expectedHash)
        #expect(requests.first?.values("X-User-Id") == ["uploader"])

        let peak = try #require(gateway.peakResidentKilobytes)
        print("e2e streaming upload: 50 MiB in \(elapsed) s, gateway VmHWM \(baseline) -> \(peak) kB")
        #expect(peak - baseline < Self.memoryBoundKilobytes, "peak grew from \(baseline) kB to \(peak) kB in \(elapsed) s")
        await gateway.stop()
        await upstream.stop()
    }

    @Test("a 50 MB download streams through with gateway memory bounded")
    func download() async throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (gateway, upstream, baseline) = try await Self.startGateway(
            .init(name: "source", responseBytes: Self.size), directory: directory)
        let output = directory + "/download.bin"
        let started = Date()
        let response = try await Curl.request(
            gateway, "/api/data/big", headers: ["Authorization: Bearer \(try Self.token(scope: "read:data"))"],
            outputFile: output, timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        #expect(response.status == 200)
        let attributes = try FileManager.default.attributesOfItem(atPath: output)
        #expect((attributes[.size] as? NSNumber)?.intValue == Self.size)
        // The upstream sends bytes 0...255 repeated; compare with the same stream hashed by Python.
        let python = TestTools.python
        let expected = try await Command.run(
            python,
            ["-c", "import hashlib;b=bytes(range(256))*256;h=hashlib.sha256();[h.update(b) for _ in range(\(Self.size / 65536))];print(h.hexdigest())"],
            directory: directory)
        #expect(try await Self.sha256(ofFile: output, directory: directory) == String(expected.stdoutText.prefix(64)))

        let peak = try #require(gateway.peakResidentKilobytes)
        print("e2e streaming download: 50 MiB in \(elapsed) s, gateway VmHWM \(baseline) -> \(peak) kB")
        #expect(peak - baseline < Self.memoryBoundKilobytes, "peak grew from \(baseline) kB to \(peak) kB in \(elapsed) s")
        await gateway.stop()
        await upstream.stop()
    }
}
