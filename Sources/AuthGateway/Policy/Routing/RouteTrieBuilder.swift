/// Builds a ``RouteTrie`` from route patterns, reporting routes that claim the same slot
/// (same host, same pattern shape, a common method).
struct RouteTrieBuilder {
    private struct EdgeKey: Hashable {
        var parent: Int32
        var label: String
    }

    /// A route that already holds a (node, method) slot another route asked for.
    struct Conflict: Equatable {
        var existingRoute: Int
        var methods: HTTPMethodSet
    }

    private var nodes = [RouteTrie.Node()]
    private var edges: [EdgeKey: Int32] = [:]
    private var edgeOrder: [EdgeKey] = []
    private var slots: [Int32] = []
    private var hasHostRoutes = false

    init() {}

    /// Adds a route; returns the routes it overlaps (it keeps no slot that another route holds).
    mutating func insert(route: Int, host: String?, pattern: PathPattern, methods: HTTPMethodSet) -> [Conflict] {
        var node = RouteTrie.anyHostRoot
        if let host {
            hasHostRoutes = true
            node = child(of: RouteTrie.hostParent, HostName.normalize(host))
        }
        for segment in pattern.segments {
            switch segment {
            case .literal(let label):
                node = child(of: node, label)
            case .parameter:
                if nodes[Int(node)].parameter < 0 {
                    nodes[Int(node)].parameter = newNode()
                }
                node = nodes[Int(node)].parameter
            }
        }
        var base = pattern.isPrefix ? nodes[Int(node)].prefix : nodes[Int(node)].exact
        if base < 0 {
            base = Int32(slots.count)
            slots.append(contentsOf: repeatElement(-1, count: HTTPMethodSet.slotCount))
            if pattern.isPrefix { nodes[Int(node)].prefix = base } else { nodes[Int(node)].exact = base }
        }
        var conflicts: [Conflict] = []
        for slot in methods.slots {
            let held = slots[Int(base) + slot]
            if held >= 0 {
                let method = HTTPMethodSet(rawValue: 1 << UInt8(slot))
                if let index = conflicts.firstIndex(where: { $0.existingRoute == Int(held) }) {
                    conflicts[index].methods.formUnion(method)
                } else {
                    conflicts.append(Conflict(existingRoute: Int(held), methods: method))
                }
            } else {
                slots[Int(base) + slot] = Int32(route)
            }
        }
        return conflicts
    }

    /// Freezes the trie into its compact, Sendable form.
    func build() -> RouteTrie {
        // A slot group held by one route becomes (route, method mask) inside the node: one memory access less.
        var frozen = nodes
        for index in frozen.indices {
            (frozen[index].exact, frozen[index].exactMask) = inline(frozen[index].exact)
            (frozen[index].prefix, frozen[index].prefixMask) = inline(frozen[index].prefix)
        }
        var capacity = 8
        while capacity < edgeOrder.count * 2 { capacity *= 2 }
        var table = [RouteTrie.Edge](repeating: RouteTrie.Edge(), count: capacity)
        var labels: [UInt8] = []
        var labelOffsets: [String: Int32] = [:]
        for key in edgeOrder {
            guard let child = edges[key] else { continue }
            let bytes = Array(key.label.utf8)
            var edge = RouteTrie.Edge(parent: key.parent, child: child, length: Int32(bytes.count), node: frozen[Int(child)])
            bytes.withUnsafeBufferPointer {
                edge.hash = RouteTrie.hash(parent: key.parent, $0, caseInsensitive: false)
                edge.packed = RouteTrie.pack($0, caseInsensitive: false)
            }
            if bytes.count > 8 {
                if let offset = labelOffsets[key.label] {
                    edge.start = offset
                } else {
                    edge.start = Int32(labels.count)
                    labelOffsets[key.label] = edge.start
                    labels.append(contentsOf: bytes)
                }
            }
            var cell = Int(edge.hash) & (capacity - 1)
            while table[cell].child >= 0 { cell = (cell + 1) & (capacity - 1) }
            table[cell] = edge
        }
        return RouteTrie(nodes: frozen, table: table, labels: labels, slots: slots, hasHostRoutes: hasHostRoutes)
    }

    private func inline(_ base: Int32) -> (Int32, UInt8) {
        guard base >= 0 else { return (-1, 0) }
        var route: Int32 = -1
        var mask: UInt8 = 0
        for slot in 0..<HTTPMethodSet.slotCount {
            let held = slots[Int(base) + slot]
            guard held >= 0 else { continue }
            if route >= 0, held != route { return (base, 0) }
            route = held
            mask |= 1 << UInt8(slot)
        }
        return (route, mask)
    }

    private mutating func child(of parent: Int32, _ label: String) -> Int32 {
        let key = EdgeKey(parent: parent, label: label)
        if let existing = edges[key] { return existing }
        let node = newNode()
        edges[key] = node
        edgeOrder.append(key)
        return node
    }

    private mutating func newNode() -> Int32 {
        nodes.append(RouteTrie.Node())
        return Int32(nodes.count - 1)
    }
}
