import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import GatewayConfig

/// One HTTPS GET of a key document (a JWKS, or an OpenID configuration that names one): certificate and
/// host name verified by NIOSSL, bounded in size and time. Plain HTTP only when the configuration says
/// `insecure`.
///
/// Through an egress proxy (``ProxyURL``) the connection goes to the proxy, asks it for a CONNECT tunnel to
/// the provider, and then runs the same TLS and GET through the tunnel: the proxy relays bytes it cannot
/// read or alter, and the provider's certificate is verified exactly as without it.
struct KeyDocumentFetcher: Sendable {
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
    /// The URL as configured or advertised, for messages.
    let urlText: String
    let proxy: ProxyURL?
    let tls: NIOSSLContext?
    let timeout: TimeAmount
    /// The `Accept` header: what kind of document this fetch is for.
    let accept: String

    /// `what` names the URL in errors (`jwks_url`, `openid_configuration`, `jwks_uri`).
    init(url text: String, what: String, settings: GatewayConfiguration.RemoteKeys, accept: String) throws {
        guard let url = ParsedURL(text) else {
            throw GatewayConfigurationError(problems: ["\(what) \(text): expected https://host[:port]/path"])
        }
        guard url.isHTTPS || settings.allowInsecure else {
            throw GatewayConfigurationError(problems: ["\(what) \(text): plain http needs `insecure: true`"])
        }
        if let proxy = settings.proxy {
            guard let parsed = ProxyURL(proxy) else {
                throw GatewayConfigurationError(problems: ["proxy \(ProxyURL.redacted(proxy)): expected http://host:port"])
            }
            self.proxy = parsed
        } else {
            self.proxy = nil
        }
        self.url = url
        self.urlText = text
        self.accept = accept
        self.timeout = TimeAmount(settings.fetchTimeout)
        if url.isHTTPS {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
            tls = try NIOSSLContext(configuration: configuration)
        } else {
            tls = nil
        }
    }

    func fetch(on eventLoop: EventLoop) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        let url = self.url
        let proxy = self.proxy
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    guard let proxy else { return try addExchangeHandlers(sync, promise: promise) }
                    let request = ProxyTunnel.request(host: url.host, port: url.port, credentials: proxy.credentials)
                    try sync.addHandler(ProxyConnectHandler(
                        request: request,
                        established: { try addExchangeHandlers($0, promise: promise) },
                        failed: { promise.fail(Failure(description: "proxy \(proxy): \($0)")) }))
                }
            }
        let (host, port) = proxy.map { ($0.host, $0.port) } ?? (url.host, url.port)
        bootstrap.connect(host: host, port: port).whenComplete { result in
            switch result {
            case .success(let channel):
                // However the fetch ends (answer, error, deadline), its connection goes with it.
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                let target = proxy.map { "the proxy \($0)" } ?? "\(url.host):\(url.port)"
                promise.fail(Failure(description: "cannot connect to \(target): \(error)"))
            }
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            promise.fail(Failure(description: "no complete answer within \(timeout)"))
        }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        return promise.futureResult
    }

    /// TLS (for https), the HTTP codec and the GET: on a direct connection, or inside the proxy's tunnel.
    private func addExchangeHandlers(
        _ sync: ChannelPipeline.SynchronousOperations, promise: EventLoopPromise<Response>
    ) throws {
        if let tls {
            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: url.isIPAddress ? nil : url.host))
        }
        try sync.addHTTPClientHandlers()
        try sync.addHandler(CollectHandler(promise: promise, url: url, accept: accept))
    }

    /// Sends the GET and collects the response, refusing oversized bodies and non-200 answers.
    private final class CollectHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        private let promise: EventLoopPromise<Response>
        private let url: ParsedURL
        private let accept: String
        private var sent = false
        private var status: HTTPResponseStatus?
        private var maxAge: Double?
        private var body: [UInt8] = []

        init(promise: EventLoopPromise<Response>, url: ParsedURL, accept: String) {
            self.promise = promise
            self.url = url
            self.accept = accept
        }

        /// Added to a connection that is already up when it follows a proxy's tunnel.
        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { sendRequest(context: context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            sendRequest(context: context)
            context.fireChannelActive()
        }

        private func sendRequest(context: ChannelHandlerContext) {
            guard !sent else { return }
            sent = true
            var headers = HTTPHeaders()
            headers.add(name: "host", value: url.hostHeader)
            headers.add(name: "accept", value: accept)
            headers.add(name: "user-agent", value: "auth-gateway")
            headers.add(name: "connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.path, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = head.status
                maxAge = Self.maxAge(head.headers["cache-control"])
            case .body(var buffer):
                guard body.count + buffer.readableBytes <= KeyDocumentFetcher.maxBodyBytes else {
                    promise.fail(Failure(description: "document larger than \(KeyDocumentFetcher.maxBodyBytes) bytes"))
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
