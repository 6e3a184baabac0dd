import GatewayTooling
import Foundation
import JOSE
import TestSupport
import Testing
import Yams
import GatewayPolicy
import GatewayConfig
import GatewayObservability
import AuthGateway
import GatewayDemo

/// The deployment material in `deploy/` (Dockerfile, Kubernetes manifests, systemd unit) checked against
/// itself and against the gateway: the configuration embedded in the ConfigMap is loaded with the real
/// loader, and every port, probe, path and timeout in the manifests must agree with it.
@Suite("Deploy manifests")
struct DeployManifestTests {
    // MARK: - Kubernetes: documents, kinds, API versions

    @Test func everyManifestParsesWithExpectedKindsAndAPIVersions() throws {
        let manifests = try DeployManifests.load()
        let found = manifests.documents.map { "\($0.apiVersion) \($0.kind) \($0.name)" }
        #expect(Set(found).count == found.count, "duplicate objects: \(found)")
        #expect(Set(found) == [
            "v1 ConfigMap auth-gateway-config",
            "v1 ConfigMap auth-gateway-policies",
            "v1 ConfigMap auth-gateway-jwks",
            "v1 Secret auth-gateway-tls",
            "v1 Secret auth-gateway-keys",
            "v1 Service auth-gateway",
            "apps/v1 Deployment auth-gateway",
            "autoscaling/v2 HorizontalPodAutoscaler auth-gateway",
            "policy/v1 PodDisruptionBudget auth-gateway",
            "kustomize.config.k8s.io/v1beta1 Kustomization ",
        ])
        for document in manifests.documents where document.kind != "Kustomization" {
            #expect(
                document.node["metadata"]?["labels"]?["app.kubernetes.io/name"]?.string == "auth-gateway",
                "\(document.file): \(document.kind) \(document.name) lacks the app.kubernetes.io/name label")
        }
        // Each file holds what its name says.
        let kindsByFile = Dictionary(grouping: manifests.documents, by: \.file).mapValues { Set($0.map(\.kind)) }
        #expect(kindsByFile == [
            "configmap.yaml": ["ConfigMap"], "secret.example.yaml": ["Secret"], "service.yaml": ["Service"],
            "deployment.yaml": ["Deployment"], "hpa.yaml": ["HorizontalPodAutoscaler"],
            "poddisruptionbudget.yaml": ["PodDisruptionBudget"], "kustomization.yaml": ["Kustomization"],
        ])
    }

    @Test func kustomizationListsEverythingButTheExampleSecret() throws {
        let manifests = try DeployManifests.load()
        let kustomization = try manifests.one("Kustomization")
        let resources = kustomization.node["resources"]?.array().compactMap(\.string) ?? []
        let files = Set(manifests.documents.map(\.file)).subtracting(["kustomization.yaml", "secret.example.yaml"])
        #expect(Set(resources) == files)
        #expect(resources.count == files.count)
    }

    // MARK: - The embedded gateway configuration

    @Test func configMapConfigurationLoads() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        #expect(configuration.listeners.count == 1)
        let admin = try #require(configuration.admin, "the admin listener is needed for the probes")
        // Kubelet probes and Prometheus reach the pod IP, never the pod's loopback.
        #expect(["0.0.0.0", "::"].contains(admin.address))
        #expect(configuration.logging.accessLog == "stdout")
        // The image's entrypoint reads exactly this file.
        #expect(try deploy.containerConfigPath() == DeployManifests.configPath)
    }

    @Test func containerPortsAreTheListenerAndAdminPorts() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        let admin = try #require(configuration.admin)
        let ports = try deploy.containerPorts()
        let listenerPorts = Set(configuration.listeners.map(\.port))
        #expect(Set(ports.values) == listenerPorts.union([admin.port]))
        #expect(ports.count == listenerPorts.count + 1, "\(ports)")
        #expect(ports["admin"] == admin.port)
        #expect(ports["https"].map(listenerPorts.contains) == true)
        for port in try deploy.container()["ports"]?.array() ?? [] {
            #expect(port["protocol"]?.string == "TCP")
        }
    }

    @Test func probesUseTheAdminListener() throws {
        let deploy = try DeployManifests.load()
        let admin = try #require(try deploy.gatewayConfiguration().admin)
        let container = try deploy.container()
        let expected = ["readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"]
        for (probe, path) in expected {
            let get = try #require(container[probe]?["httpGet"], "\(probe) is not an httpGet probe")
            #expect(get["path"]?.string == path, "\(probe)")
            #expect(try deploy.resolvePort(get["port"]) == admin.port, "\(probe)")
            #expect((get["scheme"]?.string ?? "HTTP") == "HTTP", "\(probe): the admin listener is plain HTTP")
        }
        #expect(container["readinessProbe"] != nil && container["livenessProbe"] != nil)
    }

    @Test func prometheusScrapesTheAdminPort() throws {
        let deploy = try DeployManifests.load()
        let admin = try #require(try deploy.gatewayConfiguration().admin)
        let annotations = try #require(try deploy.podTemplate()["metadata"]?["annotations"])
        #expect(annotations["prometheus.io/scrape"]?.string == "true")
        #expect(annotations["prometheus.io/port"]?.string == String(admin.port))
        #expect(annotations["prometheus.io/path"]?.string == "/metrics")
    }

    @Test func serviceTargetsTheListenerAndNeverTheAdminPort() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        let admin = try #require(configuration.admin)
        let service = try deploy.one("Service")
        let ports = service.node["spec"]?["ports"]?.array() ?? []
        #expect(!ports.isEmpty)
        for port in ports {
            let target = try deploy.resolvePort(port["targetPort"] ?? port["port"])
            #expect(configuration.listeners.map(\.port).contains(target), "Service port \(port) → \(target)")
            #expect(target != admin.port, "the admin listener must not be exposed by the Service")
            #expect(port["port"]?.int == 443)
        }
        #expect(["ClusterIP", "LoadBalancer"].contains(service.node["spec"]?["type"]?.string ?? "ClusterIP"))
        // The Service, the Deployment's selector and the PDB all select the pod template.
        let podLabels = try deploy.labels(deploy.podTemplate()["metadata"]?["labels"])
        let selectors = [
            ("Service", try deploy.labels(service.node["spec"]?["selector"])),
            ("Deployment", try deploy.labels(deploy.one("Deployment").node["spec"]?["selector"]?["matchLabels"])),
            ("PodDisruptionBudget", try deploy.labels(deploy.one("PodDisruptionBudget").node["spec"]?["selector"]?["matchLabels"])),
        ]
        for (kind, selector) in selectors {
            #expect(!selector.isEmpty, "\(kind)")
            #expect(selector.allSatisfy { podLabels[$0.key] == $0.value }, "\(kind) selector \(selector) vs \(podLabels)")
        }
    }

    @Test func deploymentIsHardened() throws {
        let deploy = try DeployManifests.load()
        let spec = try #require(try deploy.podTemplate()["spec"])
        #expect(try deploy.one("Deployment").node["spec"]?["replicas"]?.int == 3)
        let pod = try #require(spec["securityContext"])
        #expect(pod["runAsNonRoot"]?.bool == true)
        #expect(pod["runAsUser"]?.int == DeployManifests.imageUID)
        #expect(pod["fsGroup"]?.int != nil, "without fsGroup the non-root gateway cannot read 0440 Secret files")
        let container = try deploy.container()
        let security = try #require(container["securityContext"])
        #expect(security["readOnlyRootFilesystem"]?.bool == true)
        #expect(security["allowPrivilegeEscalation"]?.bool == false)
        #expect(security["capabilities"]?["drop"]?.array().compactMap(\.string) == ["ALL"])
        #expect(security["capabilities"]?["add"] == nil)
        for kind in ["requests", "limits"] {
            #expect(container["resources"]?[kind]?["cpu"] != nil, "\(kind).cpu")
            #expect(container["resources"]?[kind]?["memory"] != nil, "\(kind).memory")
        }
    }

    @Test func terminationGraceCoversPreStopAndDrain() throws {
        let deploy = try DeployManifests.load()
        let drain = try deploy.gatewayConfiguration().limits.drainTimeout.seconds
        let grace = try #require(try deploy.podTemplate()["spec"]?["terminationGracePeriodSeconds"]?.int)
        let command = try deploy.container()["lifecycle"]?["preStop"]?["exec"]?["command"]?.array().compactMap(\.string) ?? []
        #expect(command.first == "sleep", "preStop must wait for endpoint removal before SIGTERM: \(command)")
        let sleep = try #require(command.count == 2 ? Double(command[1]) : nil)
        #expect(sleep >= 5)
        // The grace period starts with preStop; SIGTERM (and the drain) only after it.
        #expect(Double(grace) > drain, "terminationGracePeriodSeconds \(grace) ≤ drain_timeout \(drain)")
        #expect(Double(grace) > sleep + drain, "terminationGracePeriodSeconds \(grace) ≤ preStop \(sleep) + drain \(drain)")
    }

    @Test func autoscalerAndDisruptionBudget() throws {
        let deploy = try DeployManifests.load()
        let hpa = try deploy.one("HorizontalPodAutoscaler").node["spec"]
        #expect(hpa?["scaleTargetRef"]?["kind"]?.string == "Deployment")
        #expect(hpa?["scaleTargetRef"]?["apiVersion"]?.string == "apps/v1")
        #expect(hpa?["scaleTargetRef"]?["name"]?.string == "auth-gateway")
        #expect(hpa?["minReplicas"]?.int == 3)
        #expect(hpa?["maxReplicas"]?.int == 20)
        let metrics = hpa?["metrics"]?.array() ?? []
        #expect(metrics.count == 1)
        #expect(metrics.first?["resource"]?["name"]?.string == "cpu")
        #expect(metrics.first?["resource"]?["target"]?["type"]?.string == "Utilization")
        #expect(metrics.first?["resource"]?["target"]?["averageUtilization"]?.int == 70)
        // Utilization is relative to the request: without one the HPA cannot scale.
        #expect(try deploy.container()["resources"]?["requests"]?["cpu"] != nil)
        let pdb = try deploy.one("PodDisruptionBudget").node["spec"]
        #expect(pdb?["maxUnavailable"] != nil || pdb?["minAvailable"] != nil)
    }

    // MARK: - Volumes: every file the configuration names is mounted

    @Test func volumesProvideEveryFileTheConfigurationNames() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        let files = try deploy.mountedFiles()
        let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath.count == files.count, "two sources project the same path")

        let config = try #require(byPath[try deploy.containerConfigPath()], "the configuration file is not mounted")
        #expect(config.kind == "ConfigMap" && config.key == "gateway.yaml")

        for listener in configuration.listeners {
            let chain = byPath[listener.tls.certificateChainFile]
            #expect(chain != nil, "\(listener.tls.certificateChainFile) is not mounted")
            let key = try #require(byPath[listener.tls.privateKeyFile], "\(listener.tls.privateKeyFile) is not mounted")
            #expect(key.kind == "Secret", "the TLS private key must come from a Secret")
        }
        for issuer in configuration.issuers {
            for source in issuer.keys {
                let file = try #require(byPath[source.file], "\(source.file) (issuer \(issuer.issuer)) is not mounted")
                // Public keys may be a ConfigMap; anything else (HMAC secrets, private material) a Secret.
                if file.kind == "ConfigMap" {
                    #expect(source.file.hasSuffix("jwks.json") || source.file.hasSuffix(".pem"), "\(source.file)")
                }
            }
        }

        // The policy directory holds exactly the policies ConfigMap, every key of it, with no `items` to keep
        // in step: adding a policy is one edit.
        let policyDirectory = URL(fileURLWithPath: configuration.policyDirectory).standardizedFileURL.path
        let directory = policyDirectory.hasSuffix("/") ? policyDirectory : policyDirectory + "/"
        let policyFiles = files.filter { $0.path.hasPrefix(directory) }
        #expect(Set(policyFiles.map(\.sourceName)) == ["auth-gateway-policies"])
        #expect(policyFiles.allSatisfy { !$0.path.dropFirst(directory.count).contains("/") })
        let policyKeys = try deploy.data(kind: "ConfigMap", name: "auth-gateway-policies").keys
        #expect(Set(policyFiles.map(\.key)) == Set(policyKeys), "every policy file must be mounted")
        let policySource = (try deploy.podTemplate()["spec"]?["volumes"]?.array() ?? [])
            .first { $0["configMap"]?["name"]?.string == "auth-gateway-policies" }
        #expect(policySource?["configMap"]?["items"] == nil, "items would make a new policy file a second edit")
        // The HMAC key Secret is optional: a configuration without an HMAC issuer key needs none.
        let keySecret = (try deploy.podTemplate()["spec"]?["volumes"]?.array() ?? [])
            .compactMap { $0["projected"]?["sources"]?.array() }.joined()
            .first { $0["secret"]?["name"]?.string == "auth-gateway-keys" }
        #expect(keySecret?["secret"]?["optional"]?.bool == true)

        // The non-root gateway can read Secret files (group-readable, fsGroup), nobody else can.
        let fsGroup = try deploy.podTemplate()["spec"]?["securityContext"]?["fsGroup"]?.int
        #expect(fsGroup != nil)
        for file in files where file.kind == "Secret" {
            let mode = try #require(file.mode, "\(file.path): no mode")
            #expect(mode & 0o040 != 0, "\(file.path): mode \(String(mode, radix: 8)) is not group-readable")
            #expect(mode & 0o007 == 0, "\(file.path): mode \(String(mode, radix: 8)) is world-accessible")
            #expect(mode & 0o222 == 0, "\(file.path): mode \(String(mode, radix: 8)) is writable")
        }

        // Every projected key exists in the manifests that define its source.
        for file in files {
            let data = try deploy.data(kind: file.kind, name: file.sourceName)
            #expect(data[file.key] != nil, "\(file.kind) \(file.sourceName) has no key \(file.key)")
        }
        // The config volume is read-only in the container.
        let mounts = try deploy.container()["volumeMounts"]?.array() ?? []
        let configMount = mounts.first { DeployManifests.configPath.hasPrefix(($0["mountPath"]?.string ?? "") + "/") }
        #expect(configMount?["readOnly"]?.bool == true)
    }

    @Test func configMapPoliciesAreTheRepositoryPoliciesAndLoad() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        let data = try deploy.data(kind: "ConfigMap", name: "auth-gateway-policies")
        let repository = DeployManifests.root + "/policies"
        let shipped = try FileManager.default.contentsOfDirectory(atPath: repository)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
        #expect(Set(data.keys) == Set(shipped))
        for name in shipped {
            let text = try String(contentsOfFile: repository + "/" + name, encoding: .utf8)
            #expect(data[name] == text, "configmap.yaml's \(name) differs from policies/\(name)")
        }
        let sources = data.keys.sorted().map {
            PolicySource(path: configuration.policyDirectory + "/" + $0, text: data[$0] ?? "")
        }
        let environment = PolicyEnvironment(
            upstreams: Array(configuration.upstreams.keys), issuers: configuration.issuers.map(\.issuer))
        let policy = try PolicyLoader.load(sources: sources, environment: environment)
        #expect(Set(policy.routes.map(\.name)) == ["data-read", "info-read", "admin", "health"])
    }

    // MARK: - The whole pod volume, materialized

    /// Writes the pod's /etc/auth-gateway as the projected volume would (placeholders replaced by generated
    /// keys and a development certificate) and runs `auth-gateway check` on it.
    @Test func materializedVolumePassesTheGatewayCheck() throws {
        let deploy = try DeployManifests.load()
        let scratch = try DeployScratchDirectory()
        defer { scratch.remove() }
        let generated = try DeployGeneratedSecrets(in: scratch.path + "/generate")
        let root = scratch.path + "/pod"
        try deploy.materialize(into: root, replacing: generated.placeholders)
        let report = try GatewayCheck.run(configurationFile: root + (try deploy.containerConfigPath()))
        #expect(report.hasPrefix("ok: "), "\(report)")
        #expect(report.contains("(public: health)"), "\(report)")
    }

    /// Applied as shipped (placeholders still in), the gateway refuses to start instead of serving
    /// without keys.
    @Test func unfilledPlaceholdersFailClosed() throws {
        let deploy = try DeployManifests.load()
        let scratch = try DeployScratchDirectory()
        defer { scratch.remove() }
        let root = scratch.path + "/pod"
        try deploy.materialize(into: root, replacing: [:])
        #expect(throws: (any Error).self) {
            _ = try GatewayCheck.run(configurationFile: root + (try deploy.containerConfigPath()))
        }
    }

    @Test func exampleSecretsHoldOnlyPlaceholders() throws {
        let deploy = try DeployManifests.load()
        var values: [String] = []
        for document in deploy.documents where document.kind == "Secret" || document.name == "auth-gateway-jwks" {
            values += try deploy.data(kind: document.kind, name: document.name).values
        }
        #expect(values.count == 4)
        for value in values {
            #expect(value.contains("REPLACE"), "\(value)")
            #expect(!value.contains("-----BEGIN"), "real PEM material in an example manifest")
            #expect(!value.contains("\"k\""), "a real JWK in an example manifest")
        }
    }

    // MARK: - Dockerfile

    @Test func dockerfileAgreesWithTheManifests() throws {
        let deploy = try DeployManifests.load()
        let configuration = try deploy.gatewayConfiguration()
        let docker = try DeployDockerfile.load()
        let stages = docker.stages
        #expect(stages.count == 2, "a build stage and a runtime stage")
        let build = try #require(stages.first)
        let runtime = try #require(stages.last)
        #expect(build.image.hasPrefix("swift:") && build.image.hasSuffix("-bookworm"), "\(build.image)")
        // Several dependencies declare swift-tools-version 6.2.
        let version = build.image.dropFirst("swift:".count).split(separator: "-").first?.split(separator: ".")
            .compactMap { Int($0) } ?? []
        #expect(version.count >= 2 && (version[0], version[1]) >= (6, 2), "\(build.image)")
        #expect(runtime.image == "debian:bookworm-slim")

        let buildRuns = build.instructions("RUN").joined(separator: "\n")
        #expect(buildRuns.contains("libssl-dev"))
        for product in ["auth-gateway", "keytool"] {
            #expect(buildRuns.contains("swift build -c release --static-swift-stdlib --product \(product)"))
        }
        #expect(runtime.aptPackages == ["libssl3", "ca-certificates"])
        // The build has what the manifest builds from, the commit plugin and its script included, and names
        // the commit from the build argument (the context has no .git).
        let copied = Set(build.instructions("COPY").compactMap { $0.split(separator: " ").first.map(String.init) })
        for needed in ["Package.*", "Sources", "Plugins", "Benchmarks", "Tests", "scripts/source-commit", ".source-commit"] {
            #expect(copied.contains(needed), "the build stage does not copy \(needed): \(copied.sorted())")
        }
        #expect(build.instructions("ARG").contains("SOURCE_COMMIT="))
        #expect(buildRuns.contains(#"printf '%s\n' "$SOURCE_COMMIT" > .source-commit"#))
        let ignored = try String(contentsOfFile: DeployManifests.root + "/deploy/Dockerfile.dockerignore", encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(ignored.contains("!scripts/source-commit") && !ignored.contains(".source-commit") && !ignored.contains("Plugins"))

        #expect(Set(docker.exposedPorts) == Set(try deploy.containerPorts().values))
        #expect(Set(docker.exposedPorts) == Set(configuration.listeners.map(\.port) + [configuration.admin?.port ?? -1]))
        #expect(docker.all("HEALTHCHECK").isEmpty)
        #expect(docker.all("STOPSIGNAL") == ["SIGTERM"])
        #expect(docker.jsonArray("ENTRYPOINT") == ["auth-gateway"])
        let command = try #require(docker.jsonArray("CMD"))
        #expect(command.first == "serve")
        #expect(DeployManifests.configOption(command) == DeployManifests.configPath)
        #expect(try deploy.container()["args"]?.array().compactMap(\.string) == command)
        #expect(runtime.instructions("USER").last?.split(separator: ":").first.map(String.init) == String(DeployManifests.imageUID))
        #expect(runtime.instructions("RUN").joined().contains("--uid \(DeployManifests.imageUID)"))
    }

    // MARK: - systemd

    @Test func systemdUnitAgreesWithTheImage() throws {
        let unit = try DeploySystemdUnit.load()
        let docker = try DeployDockerfile.load()
        let service = unit.section("Service")
        func value(_ key: String) -> String? { service[key]?.last }

        #expect(value("Type") == "exec")
        let start = (value("ExecStart") ?? "").split(separator: " ").map(String.init)
        #expect(start.prefix(2) == ["/usr/local/bin/auth-gateway", "serve"])
        #expect(DeployManifests.configOption(start) == DeployManifests.configOption(docker.jsonArray("CMD") ?? []))
        #expect(DeployManifests.configOption(start) == DeployManifests.configPath)
        #expect(value("ExecReload") == "/bin/kill -HUP $MAINPID")
        #expect(value("KillSignal") == "SIGTERM")
        #expect(value("Restart") == "on-failure")
        #expect(value("User") == "auth-gateway")

        // Longer than every drain timeout in play: the default and the shipped configurations'.
        let stop = try #require(DeploySystemdUnit.seconds(value("TimeoutStopSec") ?? ""))
        let deploy = try DeployManifests.load()
        let drains = [GatewayConfiguration.Limits().drainTimeout.seconds, try deploy.gatewayConfiguration().limits.drainTimeout.seconds]
        #expect(drains.allSatisfy { stop > $0 }, "TimeoutStopSec \(stop) vs drain timeouts \(drains)")

        for flag in [
            "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
            "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "RestrictNamespaces",
            "LockPersonality", "MemoryDenyWriteExecute",
        ] {
            #expect(value(flag) == "yes", "\(flag)")
        }
        #expect(value("ProtectSystem") == "strict")
        #expect(value("RestrictAddressFamilies") == "AF_INET AF_INET6 AF_UNIX")
        #expect(service["SystemCallFilter"]?.first == "@system-service")
        #expect(value("CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE")
        #expect(value("AmbientCapabilities") == "CAP_NET_BIND_SERVICE")
        #expect(value("ReadOnlyPaths")?.split(separator: " ").contains("/etc/auth-gateway") == true)
        #expect(unit.section("Install")["WantedBy"] == ["multi-user.target"])
    }

    @Test("systemd-analyze verify accepts the unit (systemd comes with scripts/setup)")
    func systemdAnalyzeVerifiesTheUnit() throws {
        // `verify` insists that ExecStart's binary exists; check a copy that runs /bin/true instead.
        let text = try String(contentsOfFile: DeploySystemdUnit.path, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/auth-gateway", with: "/bin/true")
        let scratch = try DeployScratchDirectory()
        defer { scratch.remove() }
        let copy = scratch.path + "/auth-gateway.service"
        try text.write(toFile: copy, atomically: true, encoding: .utf8)
        let result = try Command.runBlocking("/usr/bin/systemd-analyze", ["verify", copy], directory: scratch.path)
        let printed = result.stdoutText + result.stderrText
        #expect(result.status == 0, "\(printed)")
        #expect(!printed.contains("auth-gateway.service"), "\(printed)")
    }

    // MARK: - docs/OPERATIONS.md

    @Test func operationsGuideNamesOnlyRealMetricsAndLogFields() throws {
        let guide = try String(contentsOfFile: DeployManifests.root + "/docs/OPERATIONS.md", encoding: .utf8)
        let sources = try DeployManifests.swiftSources(under: DeployManifests.root + "/Sources/AuthGateway")
        let defined = DeployManifests.matches(of: #""(gateway_[a-z0-9_]+)""#, in: sources)
        let documented = DeployManifests.matches(of: #"\b(gateway_[a-z0-9_]+)"#, in: guide)
        #expect(!documented.isEmpty)
        for name in documented.subtracting(defined) {
            // Prometheus adds _bucket/_sum/_count to a histogram.
            let base = ["_bucket", "_sum", "_count"].first(where: name.hasSuffix).map { String(name.dropLast($0.count)) }
            #expect(base.map(defined.contains) == true, "OPERATIONS.md names \(name), which the gateway never exports")
        }
        let accessLog = try String(
            contentsOfFile: DeployManifests.root + "/Sources/AuthGateway/Observability/AccessLog.swift", encoding: .utf8)
        let fields = DeployManifests.matches(of: #"\("([a-z_]+)", (?:quote|record|String|text)"#, in: accessLog)
        #expect(fields.count >= 20)
        for field in fields {
            #expect(guide.contains("`\(field)`"), "OPERATIONS.md does not describe the access log field \(field)")
        }
    }
}

// MARK: - Kubernetes manifests

/// Every document of every YAML file in deploy/kubernetes.
struct DeployManifests {
    struct Document {
        let file: String
        let node: Node
        var apiVersion: String { node["apiVersion"]?.string ?? "" }
        var kind: String { node["kind"]?.string ?? "" }
        var name: String { node["metadata"]?["name"]?.string ?? "" }
    }

    /// A file a pod volume puts in the container.
    struct MountedFile {
        let path: String
        let kind: String
        let sourceName: String
        let key: String
        let mode: Int?
    }

    static let configPath = "/etc/auth-gateway/gateway.yaml"
    static let imageUID = 10001

    static var root: String { TestTools.repositoryRoot }

    static var directory: String { root + "/deploy/kubernetes" }

    let documents: [Document]

    static func load() throws -> DeployManifests {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        var documents: [Document] = []
        for name in names {
            let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            var sequence = try compose_all(yaml: text)
            while let node = sequence.next() {
                guard node.mapping != nil else {
                    throw DeployTestError("\(name): a document is not a mapping")
                }
                documents.append(Document(file: name, node: node))
            }
            if let error = sequence.error {
                throw DeployTestError("\(name): \(error)")
            }
        }
        return DeployManifests(documents: documents)
    }

    func one(_ kind: String, named name: String? = nil) throws -> Document {
        let found = documents.filter { $0.kind == kind && (name == nil || $0.name == name) }
        guard found.count == 1, let document = found.first else {
            throw DeployTestError("expected one \(kind) \(name ?? ""), found \(found.count)")
        }
        return document
    }

    /// The `data` and `stringData` of a ConfigMap or Secret (Secret `data` is base64).
    func data(kind: String, name: String) throws -> [String: String] {
        let document = try one(kind, named: name)
        var values: [String: String] = [:]
        for (key, value) in document.node["stringData"]?.mapping ?? [:] {
            values[key.string ?? ""] = value.string
        }
        for (key, value) in document.node["data"]?.mapping ?? [:] {
            let text = value.string ?? ""
            if kind == "Secret" {
                guard let decoded = Data(base64Encoded: text) else { throw DeployTestError("\(name): bad base64") }
                values[key.string ?? ""] = String(decoding: decoded, as: UTF8.self)
            } else {
                values[key.string ?? ""] = text
            }
        }
        return values
    }

    /// The gateway configuration in the ConfigMap, loaded as the pod reads it.
    func gatewayConfiguration() throws -> GatewayConfiguration {
        let text = try #require(try data(kind: "ConfigMap", name: "auth-gateway-config")["gateway.yaml"])
        return try GatewayConfigurationLoader.load(text: text, path: try containerConfigPath())
    }

    func podTemplate() throws -> Node {
        try #require(try one("Deployment").node["spec"]?["template"])
    }

    func container() throws -> Node {
        let containers = try podTemplate()["spec"]?["containers"]?.array() ?? []
        let gateway = containers.filter { $0["name"]?.string == "auth-gateway" }
        guard gateway.count == 1, let container = gateway.first else {
            throw DeployTestError("expected one container named auth-gateway")
        }
        return container
    }

    /// The container's `--config` argument.
    func containerConfigPath() throws -> String {
        let args = try container()["args"]?.array().compactMap(\.string) ?? []
        return try #require(Self.configOption(args), "the container's args do not name --config")
    }

    /// Container port name → number.
    func containerPorts() throws -> [String: Int] {
        var ports: [String: Int] = [:]
        for port in try container()["ports"]?.array() ?? [] {
            let number = try #require(port["containerPort"]?.int)
            ports[port["name"]?.string ?? String(number)] = number
        }
        return ports
    }

    /// A port given by number or by the container port's name.
    func resolvePort(_ node: Node?) throws -> Int {
        let node = try #require(node)
        if let number = node.int { return number }
        let name = node.string ?? ""
        return try #require(try containerPorts()[name], "no container port named \(name)")
    }

    func labels(_ node: Node?) throws -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in node?.mapping ?? [:] {
            labels[key.string ?? ""] = value.string ?? ""
        }
        return labels
    }

    /// Every file the container's volume mounts provide, from ConfigMaps and Secrets.
    func mountedFiles() throws -> [MountedFile] {
        let volumes = try podTemplate()["spec"]?["volumes"]?.array() ?? []
        var files: [MountedFile] = []
        for mount in try container()["volumeMounts"]?.array() ?? [] {
            let name = mount["name"]?.string ?? ""
            let mountPath = try #require(mount["mountPath"]?.string)
            let volume = try #require(volumes.first { $0["name"]?.string == name }, "no volume \(name)")
            var sources: [(String, Node)] = []
            var defaultMode = volume["projected"]?["defaultMode"]?.int
            if let projected = volume["projected"]?["sources"]?.array() {
                for source in projected {
                    for kind in ["configMap", "secret"] {
                        if let body = source[kind] { sources.append((kind, body)) }
                    }
                }
            }
            for kind in ["configMap", "secret"] {
                if let body = volume[kind] {
                    sources.append((kind, body))
                    defaultMode = body["defaultMode"]?.int
                }
            }
            for (kind, body) in sources {
                let manifestKind = kind == "secret" ? "Secret" : "ConfigMap"
                let sourceName = try #require(body["name"]?.string ?? body["secretName"]?.string)
                let items = body["items"]?.array() ?? []
                if items.isEmpty {
                    for key in try data(kind: manifestKind, name: sourceName).keys {
                        files.append(MountedFile(
                            path: mountPath + "/" + key, kind: manifestKind, sourceName: sourceName, key: key,
                            mode: defaultMode))
                    }
                }
                for item in items {
                    let key = try #require(item["key"]?.string)
                    let path = try #require(item["path"]?.string)
                    files.append(MountedFile(
                        path: mountPath + "/" + path, kind: manifestKind, sourceName: sourceName, key: key,
                        mode: item["mode"]?.int ?? defaultMode))
                }
            }
        }
        return files
    }

    /// Writes every mounted file under `root` (so /etc/auth-gateway/x becomes root/etc/auth-gateway/x);
    /// `replacing` supplies the content of placeholder values, keyed by "Kind/name/key".
    func materialize(into root: String, replacing generated: [String: String]) throws {
        for file in try mountedFiles() {
            let id = "\(file.kind)/\(file.sourceName)/\(file.key)"
            var text = try #require(try data(kind: file.kind, name: file.sourceName)[file.key])
            if text.contains("REPLACE"), let replacement = generated[id] {
                text = replacement
            }
            let path = root + file.path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    static func configOption(_ arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    static func swiftSources(under directory: String) throws -> String {
        guard let files = FileManager.default.enumerator(atPath: directory) else {
            throw DeployTestError("cannot list \(directory)")
        }
        var text = ""
        for case let file as String in files where file.hasSuffix(".swift") {
            text += (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)) ?? ""
        }
        return text
    }

    /// The first capture group of every match.
    static func matches(of pattern: String, in text: String) -> Set<String> {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let range = NSRange(text.startIndex..., in: text)
        return Set(regex.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        })
    }
}

/// Keys and a certificate standing in for the example manifests' placeholders.
struct DeployGeneratedSecrets {
    let placeholders: [String: String]

    init(in directory: String) throws {
        let pki = try DevelopmentPKI.ensure(in: directory, hostnames: ["localhost", "auth-gateway"])
        let rsa = try JWSKey.generate(algorithm: .RS256, keyID: "rsa-1")
        let hmac = try JWSKey.generate(algorithm: .HS256, keyID: "hs-1")
        placeholders = [
            "ConfigMap/auth-gateway-jwks/jwks.json": JSONSerializer.serialize(try JWKSet([rsa]).publicJWKS()),
            "Secret/auth-gateway-keys/hs256.jwk.json": JSONSerializer.serialize(try hmac.jwk(includePrivate: true)),
            "Secret/auth-gateway-tls/tls.crt": try String(contentsOfFile: pki.serverCertificateChain, encoding: .utf8),
            "Secret/auth-gateway-tls/tls.key": try String(contentsOfFile: pki.serverPrivateKey, encoding: .utf8),
        ]
    }
}

// MARK: - Dockerfile

/// deploy/Dockerfile as instructions: continuation lines joined, comments dropped.
struct DeployDockerfile {
    struct Instruction {
        let keyword: String
        let arguments: String
    }

    struct Stage {
        let image: String
        let body: [Instruction]

        func instructions(_ keyword: String) -> [String] {
            body.filter { $0.keyword == keyword }.map(\.arguments)
        }

        /// The packages of this stage's `apt-get install` commands.
        var aptPackages: [String] {
            var packages: [String] = []
            for run in instructions("RUN") {
                let words = run.split(whereSeparator: \.isWhitespace).map(String.init)
                guard let install = words.firstIndex(of: "install"), words[..<install].contains("apt-get") else {
                    continue
                }
                for word in words[(install + 1)...] {
                    if word == "&&" || word == ";" { break }
                    if !word.hasPrefix("-") { packages.append(word) }
                }
            }
            return packages
        }
    }

    static var path: String { DeployManifests.root + "/deploy/Dockerfile" }

    let instructions: [Instruction]

    static func load() throws -> DeployDockerfile {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var instructions: [Instruction] = []
        var pending = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let whole = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            guard !whole.isEmpty else { continue }
            let parts = whole.split(separator: " ", maxSplits: 1).map(String.init)
            instructions.append(Instruction(
                keyword: parts[0].uppercased(),
                arguments: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""))
        }
        return DeployDockerfile(instructions: instructions)
    }

    func all(_ keyword: String) -> [String] {
        instructions.filter { $0.keyword == keyword }.map(\.arguments)
    }

    /// Stages, with `${ARG}` in FROM resolved from the global ARG defaults.
    var stages: [Stage] {
        var arguments: [String: String] = [:]
        var stages: [(String, [Instruction])] = []
        for instruction in instructions {
            if instruction.keyword == "FROM" {
                var image = String(instruction.arguments.split(separator: " ").first ?? "")
                for (name, value) in arguments {
                    image = image.replacingOccurrences(of: "${\(name)}", with: value)
                        .replacingOccurrences(of: "$\(name)", with: value)
                }
                stages.append((image, []))
            } else if stages.isEmpty, instruction.keyword == "ARG" {
                let parts = instruction.arguments.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { arguments[parts[0]] = parts[1] }
            } else if !stages.isEmpty {
                stages[stages.count - 1].1.append(instruction)
            }
        }
        return stages.map { Stage(image: $0.0, body: $0.1) }
    }

    var exposedPorts: [Int] {
        all("EXPOSE").flatMap { $0.split(separator: " ") }.compactMap { Int($0.split(separator: "/").first ?? "") }
    }

    /// The JSON (exec) form of the last instruction `keyword`.
    func jsonArray(_ keyword: String) -> [String]? {
        guard let text = all(keyword).last, let data = text.data(using: .utf8) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String]
    }
}

// MARK: - systemd

/// deploy/systemd/auth-gateway.service as sections of key → values (in order; keys may repeat).
struct DeploySystemdUnit {
    static var path: String { DeployManifests.root + "/deploy/systemd/auth-gateway.service" }

    let sections: [String: [String: [String]]]

    static func load() throws -> DeploySystemdUnit {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var sections: [String: [String: [String]]] = [:]
        var current = ""
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast())
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw DeployTestError("not a unit line: \(line)") }
            sections[current, default: [:]][parts[0], default: []].append(parts[1])
        }
        return DeploySystemdUnit(sections: sections)
    }

    func section(_ name: String) -> [String: [String]] {
        sections[name] ?? [:]
    }

    /// A systemd time span in seconds: `45`, `45s`, `2min`, `1min 30s`.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("min", 60), ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        for part in text.split(separator: " ") {
            if let plain = Double(part) {
                total += plain
                continue
            }
            guard let (unit, factor) = units.first(where: { part.hasSuffix($0.0) }),
                let number = Double(part.dropLast(unit.count))
            else { return nil }
            total += number * factor
        }
        return text.isEmpty ? nil : total
    }
}

// MARK: - Helpers

struct DeployTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh temporary directory; `remove()` it when done (`defer`).
struct DeployScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "deploy-manifest-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
