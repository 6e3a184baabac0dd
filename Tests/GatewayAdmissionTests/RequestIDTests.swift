import Testing
@testable import GatewayAdmission

@Suite("RequestID")
struct RequestIDTests {
    private func reference(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    @Test("text is the 32 lowercase hex digits of both halves, zero-padded",
          arguments: [(UInt64(0), UInt64(0)), (1, 0xABC), (.max, .max), (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210)])
    func text(high: UInt64, low: UInt64) {
        let id = RequestID(high: high, low: low)
        #expect(id.text == reference(high) + reference(low))
    }

    @Test("traceparent is version 00, the id as trace id, a derived parent id and the sampled flag")
    func traceparent() {
        var generator = RequestID.Generator()
        for _ in 0..<100 {
            let id = generator.next()
            let expected = "00-" + id.text + "-" + reference(id.low ^ 0x9E37_79B9_7F4A_7C15) + "-01"
            #expect(id.traceparent == expected)
        }
    }

    @Test("a loop's generator does not repeat ids")
    func unique() {
        var generator = RequestID.Generator()
        let ids = (0..<10_000).map { _ in generator.next().text }
        #expect(Set(ids).count == ids.count)
    }
}
