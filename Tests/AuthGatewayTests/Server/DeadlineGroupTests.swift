import NIOCore
import NIOEmbedded
import Testing
@testable import AuthGateway

/// Many timers on one task: an HTTP/2 connection's stream clocks, on an embedded loop whose time only moves when
/// the test says so.
@Suite("DeadlineGroup")
struct DeadlineGroupTests {
    private final class Log {
        var fired: [String] = []
    }

    private func make(_ names: [String]) -> (EmbeddedEventLoop, DeadlineGroup, [DeadlineTimer], Log) {
        let loop = EmbeddedEventLoop()
        let group = DeadlineGroup(eventLoop: loop)
        let log = Log()
        let timers = names.map { name in DeadlineTimer(eventLoop: loop, group: group) { log.fired.append(name) } }
        return (loop, group, timers, log)
    }

    @Test("each armed timer expires once, at its own time, in the order of the deadlines")
    func expiresEach() {
        let (loop, group, timers, log) = make(["a", "b", "c"])
        timers[0].arm(in: .seconds(30))
        timers[1].arm(in: .seconds(10))
        timers[2].arm(in: .seconds(20))
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(log.fired.isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        #expect(log.fired == ["b"])
        loop.advanceTime(by: .seconds(10))
        #expect(log.fired == ["b", "c"])
        loop.advanceTime(by: .seconds(10))
        #expect(log.fired == ["b", "c", "a"])
        #expect(group.armedCount == 0)
        #expect(timers.allSatisfy { !$0.isArmed })
        loop.advanceTime(by: .seconds(60))
        #expect(log.fired.count == 3)
    }

    @Test("a disarmed or cancelled timer never expires and leaves the group")
    func disarmed() {
        let (loop, group, timers, log) = make(["a", "b"])
        timers[0].arm(in: .seconds(10))
        timers[1].arm(in: .seconds(10))
        timers[0].disarm()
        timers[1].cancel()
        #expect(group.armedCount == 0)
        loop.advanceTime(by: .seconds(60))
        #expect(log.fired.isEmpty)
    }

    @Test("a deadline moved later does not expire at the old time")
    func movedLater() {
        let (loop, _, timers, log) = make(["a"])
        timers[0].arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(8))
        timers[0].arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(9))
        #expect(log.fired.isEmpty)
        loop.advanceTime(by: .seconds(1))
        #expect(log.fired == ["a"])
    }

    @Test("a deadline earlier than every other one still expires on time")
    func earlier() {
        let (loop, _, timers, log) = make(["late", "early"])
        timers[0].arm(in: .seconds(60))
        timers[1].arm(in: .seconds(5))
        loop.advanceTime(by: .seconds(5))
        #expect(log.fired == ["early"])
    }

    @Test("an expiry that arms a timer again, or disarms one due at the same time, is honoured")
    func armedDuringExpiry() {
        let loop = EmbeddedEventLoop()
        let group = DeadlineGroup(eventLoop: loop)
        let log = Log()
        var second: DeadlineTimer?
        var first: DeadlineTimer?
        var rearmed = false
        first = DeadlineTimer(eventLoop: loop, group: group) {
            log.fired.append("first")
            second?.disarm()
            if !rearmed {
                rearmed = true
                first?.arm(in: .seconds(5))
            }
        }
        second = DeadlineTimer(eventLoop: loop, group: group) { log.fired.append("second") }
        first?.arm(in: .seconds(10))
        second?.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(10))
        #expect(log.fired == ["first"] || log.fired == ["second", "first"])
        let afterFirst = log.fired.count
        loop.advanceTime(by: .seconds(5))
        #expect(log.fired.count == afterFirst + 1 && log.fired.last == "first")
    }

    @Test("cancelling the group (the connection closed) drops every timer")
    func groupCancelled() {
        let (loop, group, timers, log) = make(["a", "b"])
        timers[0].arm(in: .seconds(1))
        timers[1].arm(in: .seconds(2))
        group.cancel()
        loop.advanceTime(by: .seconds(60))
        #expect(log.fired.isEmpty)
        #expect(group.armedCount == 0)
    }
}
