import NIOCore

/// The one NIO task behind a ``DeadlineTimer`` or a ``DeadlineGroup``: scheduled for the earliest deadline
/// asked for. Asking for a later deadline keeps the task (its owner re-checks when it fires); an earlier one
/// replaces it. The closure it runs is made once, with the owner: asking costs nothing while a task is
/// scheduled early enough. Confined to its event loop.
struct EarliestTask {
    private let eventLoop: EventLoop
    private let fire: () -> Void
    private var task: Scheduled<Void>?
    /// When the scheduled task fires; `nil` when none is scheduled.
    private(set) var deadline: NIODeadline?

    /// `fire` runs when the task does; capture the owner weakly.
    init(eventLoop: EventLoop, fire: @escaping () -> Void) {
        self.eventLoop = eventLoop
        self.fire = fire
    }

    /// Makes sure the task runs no later than `deadline`.
    mutating func schedule(at deadline: NIODeadline) {
        if let scheduled = self.deadline, scheduled <= deadline { return }
        task?.cancel()
        self.deadline = deadline
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline, fire)
    }

    /// The task ran: the next ``schedule(at:)`` schedules a new one.
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
