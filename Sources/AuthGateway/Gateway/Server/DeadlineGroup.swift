import NIOCore

/// The deadlines of many short-lived owners on one NIO task: the body, response and send clocks of an HTTP/2
/// connection's streams.
///
/// A ``DeadlineTimer`` keeps its one task across the requests of an HTTP/1.1 connection, but each HTTP/2 stream
/// has a request handler and timers of its own, so every stream scheduled a task per clock it armed and
/// cancelled it at its end: a promise, a closure, an insertion into and a removal from the event loop's task
/// heap (with a hundred streams open, a deep heap). That was about 5 % of the gateway's CPU under h2load
/// (docs/PERFORMANCE.md). Here arming and disarming a timer is a dictionary update; the group's task fires at
/// the earliest armed deadline, expires what has passed and schedules itself for the earliest of the rest.
/// New deadlines are almost always later than the earliest one, so the task is rarely rescheduled.
///
/// Confined to its event loop. The connection calls ``cancel()`` when it closes; the task holds the group only
/// weakly, and the group holds a timer only while it is armed.
final class DeadlineGroup {
    private let eventLoop: EventLoop
    private var armed: [ObjectIdentifier: DeadlineTimer] = [:]
    /// Set at the end of `init` (its closure refers to the owner); a stored value, so that arming changes it in
    /// place (a `lazy var` is copied out and back on every change: ~20 more retains per request).
    private var task: EarliestTask!

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
        task = EarliestTask(eventLoop: eventLoop) { [weak self] in self?.fire() }
    }

    /// How many timers are armed (for tests).
    var armedCount: Int { armed.count }

    func armed(_ timer: DeadlineTimer, at deadline: NIODeadline) {
        armed[ObjectIdentifier(timer)] = timer
        schedule(at: deadline)
    }

    func disarmed(_ timer: DeadlineTimer) {
        armed.removeValue(forKey: ObjectIdentifier(timer))
    }

    /// Drops every timer and the task: the connection closed.
    func cancel() {
        armed.removeAll()
        task.cancel()
    }

    private func schedule(at deadline: NIODeadline) {
        task.schedule(at: deadline)
    }

    private func fire() {
        task.fired()
        let now = eventLoop.now
        var expired: [DeadlineTimer] = []
        var next: NIODeadline?
        for timer in armed.values {
            guard let deadline = timer.deadline else { continue }
            if deadline <= now {
                expired.append(timer)
            } else if next == nil || deadline < next! {
                next = deadline
            }
        }
        for timer in expired {
            armed.removeValue(forKey: ObjectIdentifier(timer))
        }
        // An expiry may disarm or arm timers again (the group then schedules for them if they are earlier).
        for timer in expired {
            guard let deadline = timer.deadline, deadline <= now else { continue }
            timer.expire()
        }
        if let next { schedule(at: next) }
    }
}

@available(*, unavailable)
extension DeadlineGroup: Sendable {}
