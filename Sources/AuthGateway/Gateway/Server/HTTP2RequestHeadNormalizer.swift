import NIOCore
import NIOHPACK
import NIOHTTP2
import GatewayAdmission
import GatewayPolicy

/// Gives an HTTP/2 request head the meaning it has once translated to HTTP/1.1, where NIO's
/// `HTTP2FramePayloadToHTTP1ServerCodec` drops part of it. Sits right before that codec on each stream.
///
/// - `:authority` and `host` (RFC 9113 §8.3.1): the codec keeps `host` and silently drops a disagreeing
///   `:authority`. Here a disagreeing pair becomes two `host` values, so ``RequestGuard``'s one Host check
///   refuses it (400 `bad_host`) exactly as it refuses two Host lines in HTTP/1.1.
/// - `cookie` (RFC 9113 §8.2.3): HTTP/2 may split the cookie into crumbs; before the request goes to an
///   HTTP/1.1 upstream they are joined into one field with `"; "`, as that section requires.
///
/// And it refuses what RFC 9113 calls malformed but the codec would translate (§8.2.1, §8.3.1): a field value
/// with leading or trailing white space, a `:method` that is not a token, a `:scheme` other than `https` or
/// `http` (the gateway serves no other). The stream is reset with `PROTOCOL_ERROR` and nothing is forwarded.
///
/// Only the stream's first HEADERS (the request head) is touched; trailers pass unchanged.
final class HTTP2RequestHeadNormalizer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var sawHead = false
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard !sawHead, case .headers(var payload) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        sawHead = true
        if Self.malformation(payload.headers) != nil {
            refused = true
            context.writeAndFlush(wrapOutboundOut(.rstStream(.protocolError)), promise: nil)
            context.close(promise: nil)
            return
        }
        if let normalized = Self.normalize(payload.headers) {
            payload.headers = normalized
            context.fireChannelRead(wrapInboundOut(.headers(payload)))
        } else {
            context.fireChannelRead(data)
        }
    }

    /// Why a request head is malformed under RFC 9113 §8.2.1 and §8.3.1 in ways the codec does not refuse, or
    /// `nil`.
    static func malformation(_ headers: HPACKHeaders) -> String? {
        for (name, value, _) in headers {
            if let first = value.utf8.first, first == 0x20 || first == 0x09 { return "\(name): leading white space" }
            if let last = value.utf8.last, last == 0x20 || last == 0x09 { return "\(name): trailing white space" }
            switch name {
            case ":method" where !HTTPSyntax.isToken(value): return ":method is not a token"
            case ":scheme" where value != "https" && value != "http": return ":scheme is not https"
            default: break
            }
        }
        return nil
    }

    /// The head's fields as HTTP/1.1 should see them, or `nil` when nothing changes (the common case).
    static func normalize(_ headers: HPACKHeaders) -> HPACKHeaders? {
        var authority: String?
        var hostDisagrees = false
        var cookies = 0
        for (name, value, _) in headers {
            switch name {
            case ":authority": authority = value
            case "cookie": cookies += 1
            default: break
            }
        }
        if let authority {
            hostDisagrees = headers["host"].contains { !$0.utf8.elementsEqual(authority.utf8, by: Self.equalIgnoringCase) }
        }
        guard hostDisagrees || cookies > 1 else { return nil }
        var result = HPACKHeaders()
        result.reserveCapacity(headers.count + 1)
        var cookieWritten = false
        for (name, value, indexing) in headers {
            if name == "cookie", cookies > 1 {
                guard !cookieWritten else { continue }
                cookieWritten = true
                result.add(name: "cookie", value: headers["cookie"].joined(separator: "; "), indexing: indexing)
                continue
            }
            result.add(name: name, value: value, indexing: indexing)
        }
        if hostDisagrees, let authority {
            result.add(name: "host", value: authority)
        }
        return result
    }

    private static func equalIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
    }
}

@available(*, unavailable)
extension HTTP2RequestHeadNormalizer: Sendable {}
