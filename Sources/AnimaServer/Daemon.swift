import AnimaAutomation
import AnimaCore
import AnimaKernel
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import Prometheus
import ServiceLifecycle

/// `anima serve`: the kernel behind HTTP. OpenAI-compatible endpoints, the native
/// syscall API, metrics and the OpenAPI document, all behind bearer tokens except
/// /health. Shuts down gracefully on SIGTERM: streams end cleanly, then it exits.
public struct Daemon: Sendable {
    public let kernel: Kernel
    public let audit: MemoryAuditTrail
    public let tokens: TokenStore
    public let engine: (any StatisticsReporting)?
    public let embedder: (any EmbeddingModel)?
    /// Agents' persistent memory, if the daemon has one.
    public let memory: MemorySystem?
    public let configuration: ServerConfiguration
    let mcpSessions: MCPSessions
    /// Workflows and their durable runs, kept in the data directory.
    public let automation: WorkflowEngine
    /// The daemon's log: requests, and warnings such as damaged memory met by a search.
    let logger: Logger
    /// Speech to text and text to speech for `/v1/audio` (issue 23); nil: those routes say
    /// there is no speech model.
    public var speech: SpeechServices?
    /// Its MCP servers' resource updates, for workflows' `mcp_resource` triggers.
    let resources: (any ResourceWatching)?
    /// The web console, served at / and under /web/ outside bearer tokens (it has its own
    /// passkey sessions); set by whoever composes the daemon, nil for none.
    public var console: ConsoleResponder?
    /// Macro tasks (`POST /anima/v1/tasks`), their store and skills in the data directory.
    public let tasks: Orchestrator

    public init(
        configuration: ServerConfiguration, processor: any LanguageModel, engine: (any StatisticsReporting)?,
        embedder: (any EmbeddingModel)?,
        tools: [any SystemTool] = [], memory: MemorySystem? = nil, logger: Logger = Daemon.defaultLogger,
        resources: (any ResourceWatching)? = nil
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.resources = resources
        audit = MemoryAuditTrail()
        // The ring serves GET /audit; the hash-chained log in the data directory is the record.
        var kernelConfiguration = try Kernel.Configuration.standard(
            processor: processor, tools: tools, memory: memory, dataDirectory: configuration.dataDirectory, alsoAuditTo: [audit])
        kernelConfiguration.approvalTimeout = .seconds(configuration.approvalTimeout)
        kernel = Kernel(kernelConfiguration)
        self.memory = memory
        tokens = try TokenStore(directory: URL(fileURLWithPath: configuration.dataDirectory))
        self.engine = engine
        self.embedder = embedder
        let directory = URL(fileURLWithPath: configuration.dataDirectory)
        let store: any WorkflowStore =
            if let url = configuration.workflowDatabase {
                try PostgresWorkflowStore(url: url, keyDirectory: directory)
            } else {
                try SQLiteWorkflowStore(directory: directory)
            }
        // On a shared queue this daemon leases only the runs its models, tools and groups can serve.
        let models = (processor.routing?.candidates.map(\.id) ?? []) + [processor.info.name]
        let serving =
            configuration.workflowDatabase == nil
            ? nil
            : WorkflowEngine.serving(
                models: models, tools: tools.map(\.definition.name),
                groups: try configuration.workflowGroups.map(Set.init) ?? PrincipalStore.groupNames(dataDirectory: configuration.dataDirectory))
        automation = WorkflowEngine(
            store: store, actions: KernelStepActions(kernel: kernel), worker: Self.workerName(dataDirectory: configuration.dataDirectory),
            leaseSeconds: Double(configuration.workflowLeaseSeconds), serving: serving)
        mcpSessions = MCPSessions(endpoint: MCPEndpoint(kernel: kernel, logger: logger, automation: automation))
        let data = URL(fileURLWithPath: configuration.dataDirectory)
        tasks = Orchestrator(
            kernel: kernel, store: try TaskStore(directory: data), skills: try SkillLibrary(directory: data, embedder: embedder), runner: SandboxTestRunner())
    }

    /// The daemon's name in workflow leases: the same at every start on this machine with
    /// this data directory (which one daemon holds at a time), so a daemon restarted after a
    /// crash takes its runs back at once instead of waiting for their leases to run out.
    static func workerName(dataDirectory: String) -> String {
        var host = [CChar](repeating: 0, count: 256)
        let name =
            gethostname(&host, host.count) == 0
            ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        let path = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        let digest = SHA256.hash(data: Data(path.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return "daemon-\(name.prefix(40))-\(digest)"
    }

    public static var defaultLogger: Logger {
        var logger = Logger(label: "anima")
        logger.logLevel = .info
        return logger
    }

    /// Metrics go to one Prometheus registry per process (swift-metrics allows one backend).
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// The metrics as `GET /metrics` answers them (Prometheus text format 0.0.4).
    public static func metricsText() -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The router with every route and middleware.
    public func router() -> Router<AnimaRequestContext> {
        _ = Self.registry  // bootstraps the metrics system before the middleware makes its first metric
        let router = Router(context: AnimaRequestContext.self)
        router.add(middleware: ErrorAndMetricsMiddleware())
        router.add(middleware: LogRequestsMiddleware(.info))
        if let console { router.add(middleware: ConsoleMiddleware(console: console)) }
        router.add(
            middleware: AuthenticationMiddleware(
                tokens: tokens,
                limiter: RequestLimiter(perMinute: configuration.requestsPerMinute, concurrent: configuration.maxConcurrentRequests)))
        router.get("health") { _, _ in Response.json(["status": "ok"]) }
        router.get("openapi.json") { _, context in
            _ = try context.requireToken()
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("metrics") { _, context in
            _ = try context.authorize(.metrics)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: Self.metricsText())))
        }
        var openAI = OpenAIRoutes(kernel: kernel, embedder: embedder, maxRequestBytes: configuration.maxRequestBytes)
        openAI.shutdownGrace = configuration.shutdownGrace
        openAI.register(on: router)
        var native = NativeRoutes(kernel: kernel, audit: audit, maxRequestBytes: configuration.maxRequestBytes, logger: logger)
        native.shutdownGrace = configuration.shutdownGrace
        native.register(on: router)
        mcpSessions.register(on: router, maxRequestBytes: configuration.maxRequestBytes, shutdownGrace: configuration.shutdownGrace)
        WorkflowRoutes(engine: automation, maxRequestBytes: configuration.maxRequestBytes).register(on: router)
        AudioRoutes(speech: speech, kernel: kernel).register(on: router)
        TaskRoutes(orchestrator: tasks, maxRequestBytes: configuration.maxRequestBytes).register(on: router)
        // The daemon-cost anchor (issue 24), only on the scripted daemon that load tests run.
        if configuration.scripted { FixedAnswerRoute.register(on: router, maxRequestBytes: configuration.maxRequestBytes) }
        return router
    }

    /// The application, ready for `runService()` (or a test harness).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let server: HTTPServerBuilder
        // Slowloris: a header must arrive in time, an idle connection closes, and there is a cap.
        let limits = ConnectionLimits(
            maxConnections: configuration.maxConnections, headerTimeout: .seconds(Int64(configuration.requestHeaderTimeout)))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [limits.handler()], idleTimeout: .seconds(Int64(configuration.idleTimeout)))
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            do {
                let tls = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
            } catch {
                throw ConfigurationError.tls(path: certificate, reason: "\(error)")
            }
        } else {
            server = .http1(configuration: http1)
        }
        return Application(
            router: router(), server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "anima"),
            services: [
                EngineMetrics(engine: engine, kernel: kernel, memory: memory), WorkflowService(engine: automation, resources: resources),
                PolicyWatch(kernel: kernel, directory: configuration.dataDirectory, logger: logger),
            ],
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// Publishes the engine's state as gauges every second: KV slots, queue depth, tokens,
/// processes, and pages moved by agents' memory.
struct EngineMetrics: Service {
    let engine: (any StatisticsReporting)?
    let kernel: Kernel
    let memory: MemorySystem?

    func run() async throws {
        let pagesIn = Gauge(label: "anima_memory_pages_in_total")
        let pagesOut = Gauge(label: "anima_memory_pages_out_total")
        // Page-in decisions (issue 18): how many, candidates left out, pages by ranking reason.
        let pageInEvents = Gauge(label: "anima_memory_page_in_events_total")
        let leftOut = Gauge(label: "anima_memory_page_in_left_out_total")
        let byReason = PagingCounters.reasons.map {
            Gauge(label: "anima_memory_pages_in_by_reason_total", dimensions: [("reason", $0)])
        }
        let slots = Gauge(label: "anima_engine_slots")
        let running = Gauge(label: "anima_engine_running_sequences")
        let waiting = Gauge(label: "anima_engine_queue_depth")
        let tokens = Gauge(label: "anima_engine_generated_tokens")
        let rate = Gauge(label: "anima_engine_tokens_per_second")
        let preemptions = Gauge(label: "anima_engine_preemptions")
        let swapped = Gauge(label: "anima_engine_swapped_bytes")
        let switching = Gauge(label: "anima_engine_context_switch_seconds_total")
        let processes = Gauge(label: "anima_processes_alive")
        var last: (tokens: Int, at: ContinuousClock.Instant)?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let s = engine?.statistics {
                slots.record(s.slots)
                running.record(s.runningSequences)
                waiting.record(s.waitingRequests)
                tokens.record(s.generatedTokens)
                preemptions.record(s.preemptions)
                swapped.record(s.swappedInMemoryBytes + s.swappedToDiskBytes)
                switching.record(Double(s.switchNanoseconds) / 1e9)
                let now = ContinuousClock.now
                if let last {
                    let d = last.at.duration(to: now)
                    rate.record(
                        Double(s.generatedTokens - last.tokens) / (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18))
                }
                last = (s.generatedTokens, now)
            }
            processes.record(await kernel.processes().filter(\.state.isAlive).count)
            if let memory {
                pagesIn.record(memory.counters.pagedIn)
                pagesOut.record(memory.counters.pagedOut)
                pageInEvents.record(memory.counters.pageInEvents)
                leftOut.record(memory.counters.candidatesLeftOut)
                for (gauge, count) in zip(byReason, memory.counters.pagedInByReason) { gauge.record(count.pages) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}

/// Resumes unfinished workflow runs at start, takes queued ones and fires cron and file triggers.
struct WorkflowService: Service {
    let engine: WorkflowEngine
    let resources: (any ResourceWatching)?

    func run() async throws {
        let triggers = TriggerService(engine: engine, resources: resources)
        let serving = Task { await engine.serve() }
        let firing = Task { await triggers.run() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await serving.value
            } onCancel: {
                serving.cancel()
            }
        } onGracefulShutdown: {
            serving.cancel()
        }
        firing.cancel()
    }
}
