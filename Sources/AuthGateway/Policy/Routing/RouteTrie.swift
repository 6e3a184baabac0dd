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
        /// Routes whose pattern ends at this node: with `exactMask` ≠ 0 the one route for those methods;
        /// otherwise, if ≥ 0, the base index of this node's method slots in `slots`; -1 for none.
        var exact: Int32 = -1
        /// Routes whose pattern is this node followed by `/**`, encoded as `exact` is.
        var prefix: Int32 = -1
        var exactMask: UInt8 = 0
        var prefixMask: UInt8 = 0
    }

    struct Edge: Sendable {
        var parent: Int32 = 0
        /// The child node; -1 marks an empty table cell.
        var child: Int32 = -1
        var hash: UInt32 = 0
        var length: Int32 = 0
        /// Labels of up to 8 bytes are kept here (little-endian), so most lookups never touch `labels`.
        var packed: UInt64 = 0
        /// Longer labels: offset in `labels` (identical labels share their bytes).
        var start: Int32 = 0
        /// A copy of `nodes[child]`, so following an edge costs no second memory access.
        var node = Node()
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
            if let root = edge(from: Self.hostParent, name, caseInsensitive: true) {
                let found = search(root.child, root.node, path, from: 1, methodSlot)
                if found >= 0 { return Int(found) }
            }
        }
        let found = search(Self.anyHostRoot, nodes[Int(Self.anyHostRoot)], path, from: 1, methodSlot)
        return found >= 0 ? Int(found) : nil
    }

    private func search(
        _ index: Int32, _ node: Node, _ path: UnsafeBufferPointer<UInt8>, from start: Int, _ slot: Int
    ) -> Int32 {
        if start > path.count {
            // The path ended at this node: an exact pattern, or a prefix pattern matching its own prefix.
            let route = resolve(node.exact, node.exactMask, slot)
            return route >= 0 ? route : resolve(node.prefix, node.prefixMask, slot)
        }
        var end = start
        while end < path.count, path[end] != ASCII.slash { end += 1 }
        let segment = UnsafeBufferPointer(rebasing: path[start..<end])
        if let next = edge(from: index, segment, caseInsensitive: false) {
            let route = search(next.child, next.node, path, from: end + 1, slot)
            if route >= 0 { return route }
        }
        if node.parameter >= 0, end > start {
            let route = search(node.parameter, nodes[Int(node.parameter)], path, from: end + 1, slot)
            if route >= 0 { return route }
        }
        return resolve(node.prefix, node.prefixMask, slot)
    }

    /// The route for method `slot` in an encoded (`exact`/`prefix`, mask) pair, or -1.
    @inline(__always)
    private func resolve(_ value: Int32, _ mask: UInt8, _ slot: Int) -> Int32 {
        if mask != 0 { return mask & (1 << UInt8(slot)) != 0 ? value : -1 }
        return value >= 0 ? slots[Int(value) + slot] : -1
    }

    /// The edge from `parent` labelled `label`, or `nil`.
    @inline(__always)
    private func edge(from parent: Int32, _ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> Edge? {
        let hash = Self.hash(parent: parent, label, caseInsensitive: caseInsensitive)
        let mask = table.count - 1
        var cell = Int(hash) & mask
        while true {
            let edge = table[cell]
            if edge.child < 0 { return nil }
            if edge.hash == hash, edge.parent == parent, Int(edge.length) == label.count,
                equal(edge, label, caseInsensitive: caseInsensitive)
            {
                return edge
            }
            cell = (cell + 1) & mask
        }
    }

    @inline(__always)
    private func equal(_ edge: Edge, _ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> Bool {
        if label.count <= 8 { return Self.pack(label, caseInsensitive: caseInsensitive) == edge.packed }
        return labels.withUnsafeBufferPointer { stored in
            let start = Int(edge.start)
            for offset in 0..<label.count {
                let byte = caseInsensitive ? HostName.lowercase(label[offset]) : label[offset]
                if stored[start + offset] != byte { return false }
            }
            return true
        }
    }

    /// Up to 8 bytes as a little-endian integer (lower-cased for hosts).
    @inline(__always)
    static func pack(_ label: UnsafeBufferPointer<UInt8>, caseInsensitive: Bool) -> UInt64 {
        var packed: UInt64 = 0
        for offset in 0..<min(label.count, 8) {
            let byte = caseInsensitive ? HostName.lowercase(label[offset]) : label[offset]
            packed |= UInt64(byte) << UInt64(offset * 8)
        }
        return packed
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
