import Foundation
import TestSupport
import Testing
import Yams
import GatewayPolicy
import GatewayConfig

/// `deploy/compose/` and `deploy/istio/` checked against themselves and against the gateway (Docker and
/// Kubernetes do not run here): the configurations load with the real loader, the policies route to services
/// the compose file runs, every port, path and header name agrees across the files.
@Suite("Deploy: compose and Istio")
struct ComposeAndIstioTests {
    static var root: String { TestTools.repositoryRoot }

    static func yaml(_ relative: String) throws -> Node {
        let text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
        guard let node = try compose(yaml: text) else { throw DeployTestError("\(relative) is empty") }
        return node
    }

    static func documents(_ relative: String) throws -> [Node] {
        var sequence = try compose_all(yaml: String(contentsOfFile: root + "/" + relative, encoding: .utf8))
        var nodes: [Node] = []
        while let node = sequence.next() { nodes.append(node) }
        if let error = sequence.error { throw DeployTestError("\(relative): \(error)") }
        return nodes
    }

    // MARK: - Compose

    static func composeConfiguration() throws -> GatewayConfiguration {
        let text = try String(contentsOfFile: root + "/deploy/compose/gateway.yaml", encoding: .utf8)
        return try GatewayConfigurationLoader.load(text: text, path: "/etc/auth-gateway/gateway.yaml")
    }

    @Test func composeRunsTheGatewayAndBothServicesWithHealthchecks() throws {
        let compose = try Self.yaml("deploy/compose/compose.yaml")
        let services = try #require(compose["services"]?.mapping)
        #expect(Set(services.keys.compactMap(\.string)) == ["gateway", "service-a", "service-b"])
        for (name, service) in services {
            let test = service["healthcheck"]?["test"]?.array().compactMap(\.string) ?? []
            #expect(test.first == "CMD" && test.count > 1, "\(name.string ?? "") has no healthcheck")
            #expect(service["read_only"]?.bool == true, "\(name.string ?? "")")
        }
        let gateway = try #require(services["gateway"])
        #expect(gateway["build"]?["dockerfile"]?.string == "deploy/Dockerfile")
        #expect(FileManager.default.fileExists(atPath: Self.root + "/deploy/Dockerfile"))
        for dependency in ["service-a", "service-b"] {
            #expect(gateway["depends_on"]?[dependency]?["condition"]?.string == "service_healthy")
        }
        // Only the gateway publishes a port: the services are reachable through it alone.
        #expect(services["service-a"]?["ports"] == nil)
        #expect(services["service-b"]?["ports"] == nil)
    }

    @Test func composeGatewayConfigurationAgreesWithTheComposeFile() throws {
        let configuration = try Self.composeConfiguration()
        let compose = try Self.yaml("deploy/compose/compose.yaml")
        let gateway = try #require(compose["services"]?["gateway"])
        // The published port is the listener's.
        let published = gateway["ports"]?.array().compactMap(\.string) ?? []
        #expect(published == ["\(configuration.listeners[0].port):\(configuration.listeners[0].port)"])
        // The healthcheck asks the admin listener's /readyz on its port.
        let admin = try #require(configuration.admin)
        let check = (gateway["healthcheck"]?["test"]?.array().compactMap(\.string) ?? []).joined(separator: " ")
        #expect(check.contains("/dev/tcp/\(admin.address)/\(admin.port)"))
        #expect(check.contains("GET /readyz"))
        // Upstream targets are the compose services on their exposed ports.
        let services = try #require(compose["services"]?.mapping)
        for (name, upstream) in configuration.upstreams {
            let service = try #require(services[Node(name)], "upstream \(name) is not a compose service")
            let exposed = service["expose"]?.array().compactMap(\.string) ?? []
            for target in upstream.targets {
                #expect(target.host == name)
                #expect(exposed.contains(String(target.port)))
            }
        }
        // Every file the configuration names is mounted at that path; the policies are the repository's.
        var mounts: [[String]] = []
        var targets: [String: String] = [:]
        for volume in gateway["volumes"]?.array().compactMap(\.string) ?? [] {
            let parts = volume.split(separator: ":").map(String.init)
            mounts.append(parts)
            if parts.count > 1 { targets[parts[1]] = parts[0] }
        }
        #expect(targets[configuration.policyDirectory] == "../../policies")
        #expect(targets[DeployManifests.configPath] == "./gateway.yaml")
        let tls = configuration.listeners[0].tls
        for path in [tls.certificateChainFile, tls.privateKeyFile] + configuration.issuers.flatMap({ $0.keys.map(\.file) }) {
            #expect(targets[path] != nil, "\(path) is not mounted")
        }
        #expect(mounts.allSatisfy { $0.count == 3 && $0[2] == "ro" }, "every mount read-only: \(mounts)")
    }

    @Test func composePoliciesRouteTheTutorialPathsToTheTwoServices() throws {
        let configuration = try Self.composeConfiguration()
        let policy = try PolicyLoader.load(
            directory: Self.root + "/policies",
            environment: PolicyEnvironment(
                upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer)))
        #expect(policy.route(method: "GET", host: "localhost", path: "/api/data/42")?.upstream == "service-a")
        #expect(policy.route(method: "GET", host: "localhost", path: "/api/info")?.upstream == "service-b")
    }

    @Test func composeServiceScriptIsTheMountedOne() throws {
        let compose = try Self.yaml("deploy/compose/compose.yaml")
        for name in ["service-a", "service-b"] {
            let service = try #require(compose["services"]?[name])
            let command = service["command"]?.array().compactMap(\.string) ?? []
            #expect(command.contains(name))
            let volumes = service["volumes"]?.array().compactMap(\.string) ?? []
            #expect(volumes == ["./services/service.py:/srv/service.py:ro"])
            #expect(command.contains("/srv/service.py"))
        }
        #expect(FileManager.default.fileExists(atPath: Self.root + "/deploy/compose/services/service.py"))
    }

    // MARK: - Istio

    static func istioDecisionConfiguration() throws -> GatewayConfiguration {
        let documents = try Self.documents("deploy/istio/decision.yaml")
        let configMap = try #require(documents.first { $0["kind"]?.string == "ConfigMap" })
        let text = try #require(configMap["data"]?["gateway.yaml"]?.string)
        return try GatewayConfigurationLoader.load(text: text, path: "/etc/auth-gateway/gateway.yaml")
    }

    @Test func meshConfigDeclaresTheExtAuthzProviderTheDecisionListenerServes() throws {
        let mesh = try Self.yaml("deploy/istio/mesh-config.yaml")
        #expect(mesh["kind"]?.string == "IstioOperator")
        let providers = mesh["spec"]?["meshConfig"]?["extensionProviders"]?.array() ?? []
        let provider = try #require(providers.first { $0["name"]?.string == "auth-gateway" })
        let http = try #require(provider["envoyExtAuthzHttp"])

        let configuration = try Self.istioDecisionConfiguration()
        let listener = try #require(configuration.listeners.first { $0.mode.decision?.decisionProtocol == .envoyExtAuthzHTTP })
        let decision = try #require(listener.mode.decision)
        #expect(http["pathPrefix"]?.string == decision.pathPrefix)
        #expect(http["port"]?.int == listener.port)
        #expect(http["failOpen"]?.bool == false, "a gateway that cannot answer must deny")

        // The provider's service is the decision Service, which targets the container's decision port.
        let documents = try Self.documents("deploy/istio/decision.yaml")
        let service = try #require(documents.first { $0["kind"]?.string == "Service" })
        let name = service["metadata"]?["name"]?.string ?? ""
        let namespace = service["metadata"]?["namespace"]?.string ?? ""
        #expect(http["service"]?.string == "\(name).\(namespace).svc.cluster.local")
        let servicePort = try #require(service["spec"]?["ports"]?.array().first { $0["port"]?.int == listener.port })
        #expect(servicePort["port"]?.int == listener.port)
        let deployment = try #require(documents.first { $0["kind"]?.string == "Deployment" })
        let container = try #require(deployment["spec"]?["template"]?["spec"]?["containers"]?.array().first)
        let ports = container["ports"]?.array() ?? []
        let decisionPort = ports.first { $0["name"]?.string == servicePort["targetPort"]?.string }
        #expect(decisionPort?["containerPort"]?.int == listener.port)
        #expect(ports.contains { $0["containerPort"]?.int == configuration.admin?.port })
        #expect(deployment["spec"]?["selector"]?["matchLabels"] == service["spec"]?["selector"])
    }

    @Test func meshConfigGRPCProviderIsTheGRPCListener() throws {
        let mesh = try Self.yaml("deploy/istio/mesh-config.yaml")
        let providers = mesh["spec"]?["meshConfig"]?["extensionProviders"]?.array() ?? []
        let grpc = try #require(providers.first { $0["envoyExtAuthzGrpc"] != nil }?["envoyExtAuthzGrpc"])
        let configuration = try Self.istioDecisionConfiguration()
        let listener = try #require(configuration.listeners.first { $0.mode.decision?.decisionProtocol == .envoyExtAuthzGRPC })
        #expect(grpc["port"]?.int == listener.port)
        #expect(grpc["failOpen"]?.bool == false)
        let documents = try Self.documents("deploy/istio/decision.yaml")
        let service = try #require(documents.first { $0["kind"]?.string == "Service" })
        let name = service["metadata"]?["name"]?.string ?? ""
        let namespace = service["metadata"]?["namespace"]?.string ?? ""
        #expect(grpc["service"]?.string == "\(name).\(namespace).svc.cluster.local")
        let servicePort = try #require(service["spec"]?["ports"]?.array().first { $0["port"]?.int == listener.port })
        let deployment = try #require(documents.first { $0["kind"]?.string == "Deployment" })
        let ports = deployment["spec"]?["template"]?["spec"]?["containers"]?.array().first?["ports"]?.array() ?? []
        let target = ports.first { $0["name"]?.string == servicePort["targetPort"]?.string }
        #expect(target?["containerPort"]?.int == listener.port)
        // Every decision port is left to the gateway's own TLS and has a DestinationRule port setting.
        let annotations = deployment["spec"]?["template"]?["metadata"]?["annotations"]
        let excluded = (annotations?["traffic.sidecar.istio.io/excludeInboundPorts"]?.string ?? "").split(separator: ",")
        let rule = try #require(documents.first { $0["kind"]?.string == "DestinationRule" })
        let tlsPorts = (rule["spec"]?["trafficPolicy"]?["portLevelSettings"]?.array() ?? []).compactMap { $0["port"]?["number"]?.int }
        for decision in configuration.listeners where decision.mode.decision != nil {
            #expect(excluded.contains(Substring(String(decision.port))), "port \(decision.port) is intercepted")
            #expect(tlsPorts.contains(decision.port), "port \(decision.port) has no TLS origination")
        }
    }

    @Test func meshConfigPassesTheIdentityOnAllowAndTheChallengeOnDeny() throws {
        let http = try #require(
            (try Self.yaml("deploy/istio/mesh-config.yaml"))["spec"]?["meshConfig"]?["extensionProviders"]?
                .array().first { $0["envoyExtAuthzHttp"] != nil }?["envoyExtAuthzHttp"])
        let upstream = Set(http["headersToUpstreamOnAllow"]?.array().compactMap(\.string) ?? [])
        // The default identity headers of docs/POLICY.md, which the policies use.
        #expect(upstream.isSuperset(of: ["x-user-id", "x-user-scopes", "x-user-roles", "x-token-issuer"]))
        let downstream = Set(http["headersToDownstreamOnDeny"]?.array().compactMap(\.string) ?? [])
        #expect(downstream.isSuperset(of: ["www-authenticate", "content-type"]))
        let checked = http["includeRequestHeadersInCheck"]?.array().compactMap(\.string) ?? []
        #expect(checked.contains("authorization"))
        #expect(checked.contains("x-user-*"), "the identity namespace is checked so that spoofed spellings are removed")
    }

    @Test func authorizationPolicyDelegatesToTheProvider() throws {
        let policy = try Self.yaml("deploy/istio/authorization-policy.yaml")
        #expect(policy["kind"]?.string == "AuthorizationPolicy")
        #expect(policy["apiVersion"]?.string == "security.istio.io/v1")
        #expect(policy["spec"]?["action"]?.string == "CUSTOM")
        let mesh = try Self.yaml("deploy/istio/mesh-config.yaml")
        let names = (mesh["spec"]?["meshConfig"]?["extensionProviders"]?.array() ?? []).compactMap { $0["name"]?.string }
        #expect(names.contains(policy["spec"]?["provider"]?["name"]?.string ?? "-"))
        #expect(!(policy["spec"]?["rules"]?.array().isEmpty ?? true), "CUSTOM with no rules matches nothing")
    }

    @Test func istioDecisionPoliciesLoadAgainstItsConfiguration() throws {
        let configuration = try Self.istioDecisionConfiguration()
        let policy = try PolicyLoader.load(
            directory: Self.root + "/policies",
            environment: PolicyEnvironment(
                upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer)))
        #expect(!policy.routes.isEmpty)
        #expect(configuration.listeners.allSatisfy { $0.mode.decision != nil }, "the mesh's gateway only decides")
    }
}
