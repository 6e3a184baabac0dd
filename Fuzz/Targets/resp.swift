// Fuzz target `resp`: bytes from a Redis server → RESPReplyParser (the rate-limit store's reply reader), then
// each reply → RedisRateLimitScript.result (what the gateway makes of the script's answer).
//
// Invariants: never traps; a reply is returned only when complete and consumes no more than the input; the
// replies are the same when the bytes arrive in two reads split at a point taken from the input (nothing is
// consumed from an incomplete reply, and an error in the first read is an error for the whole); every reply
// re-encoded by an independent serializer parses back to itself; the script mapping accepts only a 4-integer
// array with a 0/1 flag and non-negative times, and never returns negative times.

@testable import AuthGateway
@testable import GatewayRedis

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard !input.isEmpty else { return 0 }
    let parser = RESPReplyParser()
    let whole: (values: [RESPValue], consumed: Int)?
    do {
        whole = try parser.parseAll(input)
    } catch {
        whole = nil
    }
    if let whole { invariant(whole.consumed <= input.count, "consumed more than the input") }

    // Two reads, split where the first byte says.
    let cut = Int(input[0]) % (input.count + 1)
    var pending = Array(input[..<cut])
    var values: [RESPValue] = []
    var leftover = 0
    var failed = false
    do {
        let first = try parser.parseAll(pending)
        values += first.values
        pending.removeFirst(first.consumed)
        pending += input[cut...]
        let rest = try parser.parseAll(pending)
        values += rest.values
        leftover = pending.count - rest.consumed
    } catch {
        failed = true
    }
    invariant(failed == (whole == nil), "one read and two reads disagree on an error (one read failed: \(whole == nil))")
    if let whole {
        invariant(values == whole.values, "two reads gave other replies than one")
        invariant(leftover == input.count - whole.consumed, "two reads left other bytes unconsumed than one")
    }

    for value in whole?.values ?? [] {
        let encoded = encode(value)
        let again = try? parser.parseAll(encoded)
        invariant(again?.values == [value] && again?.consumed == encoded.count, "a reply does not re-parse from its encoding: \(value)")
        if let result = RedisRateLimitScript.result(from: value) {
            guard case .array(let items?) = value, items.count == 4 else {
                invariant(false, "the script mapping accepted \(value)")
                return 0
            }
            invariant(result.retryAfter >= 0 && result.reset >= 0 && result.remaining >= 0, "negative times from \(value)")
            invariant(result.allowed == (items[0] == .integer(1)), "the allowed flag is not the reply's")
        }
    }
    return 0
}

/// An independent RESP2 serializer (canonical forms).
func encode(_ value: RESPValue) -> [UInt8] {
    switch value {
    case .simpleString(let text): return Array("+\(text)\r\n".utf8)
    case .error(let text): return Array("-\(text)\r\n".utf8)
    case .integer(let number): return Array(":\(number)\r\n".utf8)
    case .bulkString(nil): return Array("$-1\r\n".utf8)
    case .bulkString(let bytes?): return Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
    case .array(nil): return Array("*-1\r\n".utf8)
    case .array(let items?): return Array("*\(items.count)\r\n".utf8) + items.flatMap(encode)
    }
}
