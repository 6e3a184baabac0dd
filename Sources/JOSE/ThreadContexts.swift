internal import CryptoShim

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Per-thread OpenSSL contexts, so that a verification reuses a prepared context instead of duplicating
/// one (and allocating a digest context) every time. No locks: each thread has its own cache.
///
/// Contexts are keyed by a key's ``KeyIdentity``, a number never reused in the process, so a context
/// prepared for one key can never serve another. The cache is small and evicts the oldest entry; all
/// entries are freed when the thread exits.
final class ThreadContexts {
    /// A prepared context and the function that frees it.
    private struct Entry {
        let owner: UInt64
        let context: OpaquePointer
        let free: (OpaquePointer) -> Void
    }

    private static let capacity = 16
    private var entries: [Entry] = []
    /// A digest context reused for every one-shot digest on this thread.
    private(set) var digestContext: OpaquePointer?

    private init() {
        entries.reserveCapacity(Self.capacity)
        digestContext = EVP_MD_CTX_new()
    }

    deinit {
        for entry in entries { entry.free(entry.context) }
        if let digestContext { EVP_MD_CTX_free(digestContext) }
    }

    /// The calling thread's contexts.
    static var current: ThreadContexts {
        if let existing = pthread_getspecific(storageKey) {
            return Unmanaged<ThreadContexts>.fromOpaque(existing).takeUnretainedValue()
        }
        let created = ThreadContexts()
        pthread_setspecific(storageKey, Unmanaged.passRetained(created).toOpaque())
        return created
    }

    /// The context prepared for `owner`, made with `make` on first use.
    func context(
        for owner: UInt64, make: () -> OpaquePointer?, free: @escaping (OpaquePointer) -> Void
    ) -> OpaquePointer? {
        for entry in entries where entry.owner == owner { return entry.context }
        guard let context = make() else { return nil }
        if entries.count == Self.capacity {
            let oldest = entries.removeFirst()
            oldest.free(oldest.context)
        }
        entries.append(Entry(owner: owner, context: context, free: free))
        return context
    }
}

/// The thread-specific slot; its destructor releases a thread's cache when the thread exits.
private let storageKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { pointer in
        guard let pointer else { return }
        Unmanaged<ThreadContexts>.fromOpaque(pointer).release()
    }
    precondition(status == 0, "pthread_key_create failed")
    return key
}()

/// A process-unique number for each key object, never reused, to key per-thread contexts.
enum KeyIdentity {
    private static let counter = Counter()

    static func next() -> UInt64 {
        counter.next()
    }

    /// Keys are created rarely (load, reload), so a mutex here is off the verification path.
    private final class Counter: @unchecked Sendable {
        private var value: UInt64 = 0
        private var mutex = pthread_mutex_t()

        init() {
            pthread_mutex_init(&mutex, nil)
        }

        func next() -> UInt64 {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            value += 1
            return value
        }
    }
}
