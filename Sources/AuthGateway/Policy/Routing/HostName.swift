/// Host comparison for routing: ASCII case-insensitive, without the port and without one trailing dot.
enum HostName {
    /// The part of a `Host` value that names the host: `[v6]` or `name`, port and trailing dot removed.
    static func hostRange(_ host: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var end = host.count
        if host.first == UInt8(ascii: "[") {
            for index in host.indices where host[index] == UInt8(ascii: "]") {
                return 0..<(index + 1)
            }
            return 0..<end
        }
        for index in host.indices.reversed() where host[index] == ASCII.colon {
            end = index
            break
        }
        if end > 0, host[end - 1] == ASCII.dot { end -= 1 }
        return 0..<end
    }

    /// The normalized form of a host in a policy: lower-case, no port, no trailing dot.
    static func normalize(_ host: String) -> String {
        var host = host
        return host.withUTF8 { bytes in
            let range = hostRange(bytes)
            return String(decoding: bytes[range].map(lowercase), as: UTF8.self)
        }
    }

    @inline(__always)
    static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}
