import NIOCore
import GatewayPolicy
import GatewayAdmission
import GatewayRedis

/// `store: redis` buckets for one event loop: ``RedisRateLimitScript`` over the loop's ``RedisClient``.
/// `EVALSHA` once Redis told the script's digest (`SCRIPT LOAD`, asked once per connection loss), `EVAL`
/// until then and whenever Redis lost the script (`NOSCRIPT` after a restart).
final class RedisRateLimitStore {
    let client: RedisClient
    private let keyPrefix: [UInt8]
    private var digest: [UInt8]?
    private var loadingDigest = false

    init(client: RedisClient, keyPrefix: String) {
        self.client = client
        self.keyPrefix = Array(keyPrefix.utf8)
    }

    func check(_ request: RateLimitCheck) -> EventLoopFuture<RateLimitAnswer> {
        let key = keyPrefix + Array(request.rule.family.utf8) + [UInt8(ascii: ":")] + Array(request.bucket.utf8)
        let interval = Array(String(max(1, request.rule.intervalNanoseconds / 1000)).utf8)
        let tolerance = Array(String(max(1, request.rule.toleranceNanoseconds / 1000)).utf8)
        let arguments = [Array("1".utf8), key, interval, tolerance]
        guard let digest else {
            loadDigest()
            return evaluate([Array("EVAL".utf8), Array(RedisRateLimitScript.source.utf8)] + arguments)
        }
        return client.send([Array("EVALSHA".utf8), digest] + arguments).assumeIsolated().flatMap { [self] reply in
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                self.digest = nil
                return check(request)
            }
            return client.eventLoop.makeSucceededFuture(Self.answer(reply))
        }.nonisolated().recover { Self.answer(failure: $0) }
    }

    private func evaluate(_ command: [[UInt8]]) -> EventLoopFuture<RateLimitAnswer> {
        client.send(command).map(Self.answer).recover { Self.answer(failure: $0) }
    }

    private func loadDigest() {
        guard !loadingDigest else { return }
        loadingDigest = true
        client.send([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(RedisRateLimitScript.source.utf8)]).assumeIsolated().whenComplete { [self] result in
            loadingDigest = false
            if case .success(.bulkString(let digest?)) = result, digest.count == 40 { self.digest = digest }
        }
    }

    static func answer(_ reply: RESPValue) -> RateLimitAnswer {
        if case .error = reply { return .unavailable(reason: "error_reply") }
        guard let result = RedisRateLimitScript.result(from: reply) else { return .unavailable(reason: "bad_reply") }
        return .counted(result)
    }

    static func answer(failure: Error) -> RateLimitAnswer {
        .unavailable(reason: (failure as? RedisFailure)?.label ?? "error")
    }
}

@available(*, unavailable)
extension RedisRateLimitStore: Sendable {}
