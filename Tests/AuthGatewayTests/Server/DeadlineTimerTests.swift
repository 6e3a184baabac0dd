import NIOCore
import NIOEmbedded
import Testing
@testable import AuthGateway

/// The one timer mechanism behind the head, body, response and pooled-connection idle clocks, on an
/// embedded loop whose time only moves when the test says so.
@Suite("DeadlineTimer")
struct DeadlineTimerTests {
    private final class Counter {
        var fired = 0
    }

    private func make() -> (EmbeddedEventLoop, DeadlineTimer, Counter) {
        let loop = EmbeddedEventLoop()
        let counter = Counter()
        let timer = DeadlineTimer(eventLoop: loop) { counter.fired += 1 }
        return (loop, timer, counter)
    }

    @Test("an armed deadline expires once, at its time and not before")
    func expires() {
        let (loop, timer, counter) = make()
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .milliseconds(9_999))
        #expect(counter.fired == 0)
        loop.advanceTime(by: .milliseconds(1))
        #expect(counter.fired == 1)
        #expect(!timer.isArmed)
        loop.advanceTime(by: .seconds(60))
        #expect(counter.fired == 1)
    }

    @Test("moving the deadline later keeps it from expiring at the old time")
    func movedLater() {
        let (loop, timer, counter) = make()
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(8))
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(9))
        #expect(counter.fired == 0, "the first task fired at 10 s and must have re-scheduled for 18 s")
        loop.advanceTime(by: .seconds(1))
        #expect(counter.fired == 1)
    }

    @Test("moving the deadline earlier expires at the earlier time")
    func movedEarlier() {
        let (loop, timer, counter) = make()
        timer.arm(in: .seconds(60))
        timer.arm(in: .seconds(5))
        loop.advanceTime(by: .seconds(5))
        #expect(counter.fired == 1)
    }

    @Test("a disarmed deadline never expires; arming again starts a new clock")
    func disarmed() {
        let (loop, timer, counter) = make()
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(3))
        timer.disarm()
        loop.advanceTime(by: .seconds(30))
        #expect(counter.fired == 0)
        timer.arm(in: .seconds(10))
        loop.advanceTime(by: .seconds(10))
        #expect(counter.fired == 1)
    }

    @Test("a cancelled timer leaves nothing scheduled on the loop")
    func cancelled() throws {
        let (loop, timer, counter) = make()
        timer.arm(in: .seconds(10))
        timer.cancel()
        loop.advanceTime(by: .seconds(30))
        #expect(counter.fired == 0)
        #expect(!timer.isArmed)
        try loop.syncShutdownGracefully()
    }

    @Test("a thousand re-armings within the timeout keep one task, which expires after the last")
    func manyRearms() {
        let (loop, timer, counter) = make()
        for _ in 0..<1_000 {
            timer.arm(in: .seconds(10))
            loop.advanceTime(by: .milliseconds(50))
        }
        #expect(counter.fired == 0)
        loop.advanceTime(by: .milliseconds(9_950))
        #expect(counter.fired == 1)
    }
}
