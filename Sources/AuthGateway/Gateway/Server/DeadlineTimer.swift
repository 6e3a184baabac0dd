import NIOCore

/// A deadline that moves on every request but rarely expires: the head-read, body-read, response and
/// pooled-connection idle clocks.
///
/// Scheduling and cancelling a NIO task per request costs a promise, a closure and two heap operations
/// each time. This timer keeps at most one task scheduled: moving the deadline later only records it,
/// and a task that fires before the current deadline schedules itself again for the rest. Moving it
/// earlier (rare) replaces the task. So a keep-alive connection serving requests faster than its timeout
/// schedules about one task per timeout period, not one per request.
///
/// Confined to its event loop. The owner calls ``cancel()`` when it goes away; the pending task holds
/// the timer only weakly.
///
/// A timer of a ``DeadlineGroup`` schedules nothing itself: the group keeps one task for all its timers (an
/// HTTP/2 connection's streams, each of which lives for one request).
final class DeadlineTimer {
    private let eventLoop: EventLoop
    private let onExpiry: () -> Void
    private let group: DeadlineGroup?
    private(set) var deadline: NIODeadline?
    /// Set at the end of `init` (its closure refers to the owner); a stored value, so that arming changes it in
    /// place (a `lazy var` is copied out and back on every change: ~20 more retains per request).
    private var task: EarliestTask!

    /// `onExpiry` runs on the event loop once the armed deadline has passed; capture the owner weakly.
    init(eventLoop: EventLoop, group: DeadlineGroup? = nil, onExpiry: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.group = group
        self.onExpiry = onExpiry
        task = EarliestTask(eventLoop: eventLoop) { [weak self] in self?.fire() }
    }

    var isArmed: Bool { deadline != nil }

    /// Expires `timeout` from now, replacing any earlier arming.
    func arm(in timeout: TimeAmount) {
        arm(at: eventLoop.now + timeout)
    }

    /// Expires at `deadline`, replacing any earlier arming.
    func arm(at deadline: NIODeadline) {
        self.deadline = deadline
        if let group { return group.armed(self, at: deadline) }
        schedule(at: deadline)
    }

    /// Stops the clock. A task already scheduled stays until it fires and finds nothing to do, so the
    /// next `arm` usually costs no scheduling at all.
    func disarm() {
        deadline = nil
        group?.disarmed(self)
    }

    /// Stops the clock and drops the scheduled task: the owner is going away.
    func cancel() {
        deadline = nil
        group?.disarmed(self)
        task.cancel()
    }

    private func schedule(at deadline: NIODeadline) {
        task.schedule(at: deadline)
    }

    /// The group found the deadline passed.
    func expire() {
        deadline = nil
        onExpiry()
    }

    private func fire() {
        task.fired()
        guard let deadline else { return }
        if deadline <= eventLoop.now {
            self.deadline = nil
            onExpiry()
        } else {
            schedule(at: deadline)
        }
    }
}

@available(*, unavailable)
extension DeadlineTimer: Sendable {}

extension DeadlineTimer {
    /// A timer that closes `channel` when it expires: the connection-level clocks (handshake, idle, head).
    convenience init(closing channel: Channel) {
        self.init(eventLoop: channel.eventLoop) { [weak channel] in
            channel?.close(promise: nil)
        }
    }
}
