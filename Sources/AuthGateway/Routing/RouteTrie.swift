/// The compiled route table: an immutable trie over path segments, one root per host plus a root for routes
/// without a host. Match cost depends on the path's depth, never on the number of routes.
///
/// Precedence (documented in docs/POLICY.md): routes naming the request's host are tried before routes
/// without a host. Within a root, segments are compared left to right and at each segment an exact literal
/// beats a one-segment wildcard, which beats a trailing `/**`; the search backtracks when a more specific
/// branch has no route for the method, so a deeper `/**` wins over a shallower one.
///
/// Child lookup uses one open-addressing hash table keyed by (parent node, segment bytes), so neither a
/// match nor a lookup allocates.
struct RouteTrie: Sendable {
    struct Node: Sendable {
        /// Child for `*` / `{name}`, or -1.
        var parameter: Int32 = -1
        /// Base index in `slots` of the routes whose pattern ends at this node, or -1.
        var exact: Int32 = -1
        /// Base index in `slots` of the routes whose pattern is this node followed by `/**`, or -1.
        var prefix: Int32 = -1
    }

    struct Edge: Sendable {
        var parent: Int32 = 0
        /// The child node; -1 marks an empty table cell.
        var child: Int32 = -1
        var hash: UInt32 = 0
        var start: Int32 = 0
        var length: Int32 = 0
    }

    /// The virtual parent of host roots in the edge table.
    static let hostParent: Int32 = -1
    /// The root of routes without a host.
    static let anyHostRoot: Int32 = 0

    let nodes: [Node]
    let table: [Edge]
    let labels: [UInt8]
    /// `HTTPMethodSet.slotCount` route indices per used slot group; -1 for none.
    let slots: [Int32]
    let hasHostRoutes: Bool

    /// The index of the route for this request, or `nil`.
    ///
    /// - Parameters:
    ///   - methodSlot: the method's bit index (see ``HTTPMethodSet``).
    ///   - host: the `Host` (or `:authority`) bytes, or `nil`.
    ///   - path: a canonical path (see ``CanonicalPath``).
    func match(methodSlot: Int, host: UnsafeBufferPointer<UInt8>?, path: UnsafeBufferPointer<UInt8>) -> Int? {
        if hasHostRoutes, let host {
            let range = HostName.hostRange(host)
            let name = UnsafeBufferPointer(rebasing: host[range])
            let root = child(of: Self.hostParent, name, caseInsensitive: true)
            if root >= 0 {
                let found = search(root, path, from: 1, methodSlot)
                if found >= 0 { return Int(found) }
            }
        }
        let found = search(Self.anyHostRoot, path, from: 1, methodSlot)
        return found >= 0 ? Int(found) : nil
    }

    private func search(_ index: Int32, _ path: UnsafeBufferPointer<UInt8>, from start: Int, _ slot: Int) -> Int32 {
        let node = nodes[Int(index)]
        if start > path.count {
            // The path ended at this node: an exact pattern, or a prefix pattern matching its own prefix.
            if node.exact >= 0 {
                let route = slots[Int(node.exact) + slot]
                if route >= 0 { return route }
            }
            if node.prefix >= 0 { return slots[Int(node.prefix) + slot] }
            return -1
        }
        var end = start
        while end < path.count, path[end] != ASCII.slash { end += 1 }
        let segment = UnsafeBufferPointer(rebasing: path[start..<end])
        let next = child(of: index, segment, caseInsensitive: false)
        if next >= 0 {
            let route = search(next, path, from: end + 1, slot)
            if route >= 0 { return route }
        }
        if node.parameter >= 0, end > start {
            let route = search(node.parameter, path, from: end + 1, slot)
            if route >= 0 { return route }
        }
        if node.prefix >= 0 { return slots[Int(node.prefix) + slot] }
        return -1
    }

    /// The child of `parent` labelled `label`, or -1.
    @inline(__always)
    private func child(of parent: Int32, _ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> Int32 {
        let hash = Self.hash(parent: parent, label, caseInsensitive: caseInsensitive)
        let mask = table.count - 1
        var cell = Int(hash) & mask
        while true {
            let edge = table[cell]
            if edge.child < 0 { return -1 }
            if edge.hash == hash, edge.parent == parent, Int(edge.length) == label.count,
                equal(Int(edge.start), label, caseInsensitive: caseInsensitive)
            {
                return edge.child
            }
            cell = (cell + 1) & mask
        }
    }

    @inline(__always)
    private func equal(_ start: Int, _ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> Bool {
        labels.withUnsafeBufferPointer { stored in
            for offset in 0..<label.count {
                let byte = caseInsensitive ? HostName.lowercase(label[offset]) : label[offset]
                if stored[start + offset] != byte { return false }
            }
            return true
        }
    }

    /// FNV-1a over the parent index and the label (lower-cased for hosts).
    @inline(__always)
    static func hash(parent: Int32, _ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        var parentBits = UInt32(bitPattern: parent)
        for _ in 0..<4 {
            hash = (hash ^ (parentBits & 0xFF)) &* 16_777_619
            parentBits >>= 8
        }
        for byte in label {
            hash = (hash ^ UInt32(caseInsensitive ? HostName.lowercase(byte) : byte)) &* 16_777_619
        }
        return hash
    }
}
