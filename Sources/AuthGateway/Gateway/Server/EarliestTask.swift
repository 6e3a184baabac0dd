import NIOCore

/// The one NIO task behind a ``DeadlineTimer`` or a ``DeadlineGroup``: scheduled for the earliest deadline
/// asked for. Asking for a later deadline keeps the task (its owner re-checks when it fires); an earlier one
/// replaces it. Confined to its event loop.
struct EarliestTask {
    private var task: Scheduled<Void>?
    /// When the scheduled task fires; `nil` when none is scheduled.
    private(set) var deadline: NIODeadline?

    /// Makes sure a task runs `fire` no later than `deadline` (capture the owner weakly in `fire`).
    mutating func schedule(at deadline: NIODeadline, on eventLoop: EventLoop, _ fire: @escaping () -> Void) {
        if let scheduled = self.deadline, scheduled <= deadline { return }
        task?.cancel()
        self.deadline = deadline
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline, fire)
    }

    /// The task ran: the next ``schedule(at:on:_:)`` schedules a new one.
    mutating func fired() {
        task = nil
        deadline = nil
    }

    /// Drops the scheduled task.
    mutating func cancel() {
        task?.cancel()
        fired()
    }
}
