import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import GatewayConfig

/// One HTTPS GET of a JWKS document: certificate and host name verified by NIOSSL, bounded in size and
/// time. Plain HTTP only when the configuration says `insecure`.
struct JWKSFetcher: Sendable {
    struct Response: Sendable {
        let body: [UInt8]
        /// `Cache-Control: max-age`, when the provider sent one.
        let maxAge: Double?
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let maxBodyBytes = 1 << 20

    let url: ParsedURL
    let tls: NIOSSLContext?
    let timeout: TimeAmount

    init(_ remote: GatewayConfiguration.RemoteKeys) throws {
        guard let url = ParsedURL(remote.url) else {
            throw GatewayConfigurationError(problems: ["jwks_url \(remote.url): expected https://host[:port]/path"])
        }
        guard url.isHTTPS || remote.allowInsecure else {
            throw GatewayConfigurationError(problems: ["jwks_url \(remote.url): plain http needs `insecure: true`"])
        }
        self.url = url
        self.timeout = TimeAmount(remote.fetchTimeout)
        if url.isHTTPS {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .fullVerification
            if let caFile = remote.caFile { configuration.trustRoots = .file(caFile) }
            tls = try NIOSSLContext(configuration: configuration)
        } else {
            tls = nil
        }
    }

    func fetch(on eventLoop: EventLoop) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        let url = self.url
        let tls = self.tls
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: url.isIPAddress ? nil : url.host))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(CollectHandler(promise: promise, url: url))
                }
            }
        bootstrap.connect(host: url.host, port: url.port).whenFailure { error in
            promise.fail(Failure(description: "cannot connect to \(url.host):\(url.port): \(error)"))
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no complete answer within \(timeout)"))
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        return promise.futureResult
    }

    /// Sends the GET and collects the response, refusing oversized bodies and non-200 answers.
    private final class CollectHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        private let promise: EventLoopPromise<Response>
        private let url: ParsedURL
        private var status: HTTPResponseStatus?
        private var maxAge: Double?
        private var body: [UInt8] = []

        init(promise: EventLoopPromise<Response>, url: ParsedURL) {
            self.promise = promise
            self.url = url
        }

        func channelActive(context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "host", value: url.hostHeader)
            headers.add(name: "accept", value: "application/jwk-set+json, application/json")
            headers.add(name: "user-agent", value: "auth-gateway")
            headers.add(name: "connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.path, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
                maxAge = Self.maxAge(head.headers["cache-control"])
            case .body(var buffer):
                guard body.count + buffer.readableBytes <= JWKSFetcher.maxBodyBytes else {
                    promise.fail(Failure(description: "JWKS larger than \(JWKSFetcher.maxBodyBytes) bytes"))
                    context.close(promise: nil)
                    return
                }
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                if status == .ok {
                    promise.succeed(Response(body: body, maxAge: maxAge))
                } else {
                    promise.fail(Failure(description: "HTTP status \(status?.code ?? 0)"))
                }
                context.close(promise: nil)
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(Failure(description: "\(error)"))
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "connection closed before the response ended"))
            context.fireChannelInactive()
        }

        /// `max-age=N` from Cache-Control (`no-store`/`no-cache` count as 0).
        static func maxAge(_ values: [String]) -> Double? {
            for value in values {
                for directive in value.split(separator: ",") {
                    let text = directive.trimmingASCIISpaces().lowercased()
                    if text == "no-store" || text == "no-cache" { return 0 }
                    if text.hasPrefix("max-age="), let seconds = Double(text.dropFirst("max-age=".count)), seconds >= 0 {
                        return seconds
                    }
                }
            }
            return nil
        }
    }
}
