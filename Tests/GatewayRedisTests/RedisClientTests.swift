import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import TestSupport

@testable import GatewayRedis

/// The client against a real `redis-server`: pipelined replies in order, authentication, and every way Redis
/// can go away (killed, frozen, wrong password, never there) failing commands quickly and typed, then
/// coming back on its own.
@Suite("Redis client against redis-server", .serialized)
struct RedisClientTests {
    final class Fixture: @unchecked Sendable {
        let directory: String
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var loop: EventLoop { group.next() }

        init() throws {
            directory = try TestTools.temporaryDirectory(prefix: "redis-client")
        }

        /// `backoff`: long where a test needs the second command to find the client still backing off
        /// however slow the machine is.
        func client(
            port: Int, password: String? = nil, timeout: TimeAmount = .seconds(5), backoff: TimeAmount = .milliseconds(100)
        ) async throws -> NIOLoopBound<RedisClient> {
            let loop = self.loop
            return try await loop.submit {
                var settings = RedisClient.Settings(
                    host: "127.0.0.1", port: port, password: password.map { Array($0.utf8) }, timeout: timeout,
                    connectTimeout: .seconds(1))
                settings.initialBackoff = backoff
                return NIOLoopBound(RedisClient(eventLoop: loop, settings: settings, logger: Logger(label: "test")), eventLoop: loop)
            }.get()
        }

        func send(_ client: NIOLoopBound<RedisClient>, _ arguments: [String]) async -> Result<RESPValue, RedisFailure> {
            do {
                return .success(try await loop.flatSubmit { client.value.send(arguments.map { Array($0.utf8) }) }.get())
            } catch let failure as RedisFailure {
                return .failure(failure)
            } catch {
                Issue.record("unexpected error \(error)")
                return .failure(.connectionLost)
            }
        }

        /// PINGs until Redis answers PONG (the client reconnects after its back-off) or 10 s pass.
        func waitForPong(_ client: NIOLoopBound<RedisClient>) async throws -> Result<RESPValue, RedisFailure> {
            var reply = await send(client, ["PING"])
            let deadline = Date().addingTimeInterval(10)
            while reply != .success(.simpleString("PONG")), Date() < deadline {
                try await Task.sleep(nanoseconds: 50_000_000)
                reply = await send(client, ["PING"])
            }
            return reply
        }

        func close() async {
            try? await group.shutdownGracefully()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("pipelined commands get their own replies, in order")
    func pipelining() async throws {
        let fixture = try Fixture()
        let redis = try await RedisServer.start(in: fixture.directory)
        // 500 commands in one write: a loaded machine may take a while to answer them all.
        let client = try await fixture.client(port: redis.port, timeout: .seconds(10))
        let replies = try await fixture.loop.flatSubmit {
            let futures = (0..<500).map { index in client.value.send([Array("INCRBY".utf8), Array("n".utf8), Array(String(index).utf8)]) }
            return EventLoopFuture.whenAllSucceed(futures, on: fixture.loop)
        }.get()
        var total: Int64 = 0
        for (index, reply) in replies.enumerated() {
            total += Int64(index)
            #expect(reply == .integer(total))
        }
        #expect(await fixture.send(client, ["GET", "missing"]) == .success(.bulkString(nil)))
        #expect(await fixture.send(client, ["NOSUCHCOMMAND"]).map { if case .error = $0 { true } else { false } } == .success(true))
        await redis.stop()
        await fixture.close()
    }

    @Test("a password is sent first; a wrong one turns every reply into an error, never a success")
    func authentication() async throws {
        let fixture = try Fixture()
        let redis = try await RedisServer.start(in: fixture.directory, password: "s3cret-pw")
        let good = try await fixture.client(port: redis.port, password: "s3cret-pw")
        #expect(await fixture.send(good, ["PING"]) == .success(.simpleString("PONG")))
        let wrong = try await fixture.client(port: redis.port, password: "wrong")
        let reply = await fixture.send(wrong, ["PING"])
        guard case .success(.error(let message)) = reply else {
            Issue.record("a wrong password answered \(reply)")
            return
        }
        #expect(message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS"), "\(message)")
        await redis.stop()
        await fixture.close()
    }

    @Test("Redis killed: waiting commands fail, the next ones fail at once while backing off, then it reconnects")
    func killedAndBack() async throws {
        let fixture = try Fixture()
        let redis = try await RedisServer.start(in: fixture.directory)
        let client = try await fixture.client(port: redis.port, backoff: .seconds(2))
        #expect(await fixture.send(client, ["SET", "k", "1"]) == .success(.simpleString("OK")))
        await redis.kill()
        let afterKill = await fixture.send(client, ["GET", "k"])
        #expect(afterKill == .failure(.connectionLost) || afterKill == .failure(.down), "\(afterKill)")
        // `down`, not a failed connect: the command failed without trying Redis again (a connect to the dead
        // port would have answered `connectionLost`).
        #expect(await fixture.send(client, ["GET", "k"]) == .failure(.down))
        try await redis.restart()
        #expect(try await fixture.waitForPong(client) == .success(.simpleString("PONG")), "no reconnect after Redis came back")
        await redis.stop()
        await fixture.close()
    }

    @Test("a frozen Redis: the command times out, the connection is dropped, and it recovers once Redis thaws")
    func frozen() async throws {
        let fixture = try Fixture()
        let redis = try await RedisServer.start(in: fixture.directory)
        let client = try await fixture.client(port: redis.port, timeout: .milliseconds(150))
        #expect(await fixture.send(client, ["PING"]) == .success(.simpleString("PONG")))
        redis.pause()
        #expect(await fixture.send(client, ["PING"]) == .failure(.timeout))
        redis.resume()
        #expect(try await fixture.waitForPong(client) == .success(.simpleString("PONG")), "no recovery after Redis thawed")
        await redis.stop()
        await fixture.close()
    }

    @Test("nothing listening: connection refused is `down`, and the back-off keeps later commands from trying")
    func neverThere() async throws {
        let fixture = try Fixture()
        let closed = try ClosedLoopbackPort()
        let client = try await fixture.client(port: closed.port, backoff: .seconds(5))
        let first = await fixture.send(client, ["PING"])
        #expect(first == .failure(.connectionLost) || first == .failure(.down), "\(first)")
        #expect(await fixture.send(client, ["PING"]) == .failure(.down))
        closed.close()
        await fixture.close()
    }
}
