import AnimaCore
import AnimaMemory
import AnimaProcessor
import AnimaSecurity
import Foundation

/// Generation: quotas, routing, the stream guard and the output guard around the processor.
extension Kernel {
    func generate(_ request: GenerationRequest, for process: ProcessRecord, sink: GenerationSink?) async throws -> GenerationResult {
        guard let processor else { throw SyscallError.noModel }
        var request = request
        if request.pinnedProcessor == nil { request.pinnedProcessor = process.pinnedProcessor }
        request.cacheOwner = process.owner.name
        // Whether the quota, rather than the caller's own limit, bounds this answer.
        var quotaBounds = false
        if let limit = process.quotas.tokens {
            let left = limit - process.usage.generatedTokens
            guard left > 0 else {
                terminate(process.pid, status: .quotaExceeded("tokens (\(limit))"))
                throw SyscallError.quotaExceeded("tokens (\(limit))")
            }
            quotaBounds = (request.sampling.maxTokens ?? Int.max) > left
            request.sampling.maxTokens = min(request.sampling.maxTokens ?? left, left)
        }
        if process.pager != nil {
            // Pages the pager brought in from storage for this turn are memory, like a search's results.
            for message in request.messages where message.role == .system && message.content.hasPrefix(ContextWindow.pagesHeader) {
                security.observe(message.content, label: ProvenanceLabel(.memory, readers: [process.owner.name]), in: &process.provenance)
            }
        }
        // With guards, text leaves only after the output guard has seen it (see StreamGuard);
        // with no one listening, the whole-text guard below is enough, and a caller that
        // asked for it (a request from outside) lets the processor hand the answer over
        // whole rather than wake this reader for every token.
        let streams = !request.isPrivateStep && isObserved(process.pid)
        request.wholeAnswer = request.wholeAnswer && sink == nil && !streams
        let events: AsyncThrowingStream<GenerationEvent, any Error>
        var decision: RoutingDecision?
        if let router = processor.routing {
            let routed: RoutedGeneration
            do {
                routed = try router.route(request)
            } catch {
                recordEvent(process, "route", "\(request.privacy): \(error)", .denied(error.description))
                throw error
            }
            decision = routed.decision
            recordEvent(process, "route", RoutingEvent.decided(routed.decision).description, .completed)
            events = routed.events
        } else if let shared = processor.timeSharing {
            let control = shared.start(request, priority: process.priority)
            process.generation = control
            events = control.events
        } else {
            events = processor.generate(request)
        }
        process.activity = .generating
        emit(.stateChanged(process.pid, process.state))
        defer {
            process.generation = nil
            process.liveTokens.reset()
            if process.activity == .generating { process.activity = .idle }
        }
        var result = GenerationResult.empty
        var streamGuard = sink != nil || streams ? security.streamGuard() : nil
        var stopped: String?
        // Once untrusted text is in the context, the step's text may repeat it: observers get
        // it when the step ends, with those spans marked as in a final answer (AnswerMarking).
        let withhold = security.tracksProvenance && process.provenance.isTainted
        var held = ""
        func release(_ text: String) {
            guard !text.isEmpty else { return }
            sink?(.text(text))
            guard streams else { return }
            if withhold { held += text } else { emit(.text(process.pid, text)) }
        }
        func flush(_ outcome: StreamGuard.Release?) {
            switch outcome {
            case .text(let text): release(text)
            case .blocked(let reason):
                stopped = reason
                recordEvent(process, "guard.stream", reason, .denied("guard"))
                emit(.text(process.pid, "\n[\(reason)]"))
            case nil: break
            }
        }
        var screened: (text: String, note: SecurityNote?)?
        do {
            if sink == nil, !streams {
                // Nobody sees the text before the whole answer is screened (no sink, no
                // observer): read and screen it off the kernel's actor, in one trip rather
                // than a hop onto it for every token and another off it to screen. A processor
                // that honours `wholeAnswer` hands it over at the end, so that process's live
                // count (`anima ps`) rises then rather than token by token; an agent's does not
                // ask for it, and counts as it goes.
                let live = process.liveTokens
                (result, screened) = try await Self.collectScreened(events, security) { live.add() }
            } else {
                for try await event in events {
                    result.add(event)
                    if case .text(let t) = event {
                        process.liveTokens.add()
                        if streamGuard == nil { release(t) } else if stopped == nil { flush(streamGuard?.feed(t)) }
                        continue
                    }
                    if stopped == nil { flush(streamGuard?.finish()) }
                    sink?(event)
                }
            }
        } catch {
            if let decision { recordRouting(decision, for: process) }
            throw error
        }
        if let decision { recordRouting(decision, for: process) }
        if stopped == nil { flush(streamGuard?.finish()) }
        if !held.isEmpty { emit(.text(process.pid, AnswerMarking(held, context: process.provenance).text)) }
        let answer = if let screened { screened } else { await security.screenAnswer(result.text) }
        result.text = answer.text
        if let note = answer.note { recordEvent(process, note) }
        if let stopped, sink != nil {
            // A streaming client has part of the answer: end its stream with the reason.
            throw SyscallError.permissionDenied(syscall: "generate", reason: stopped)
        }
        process.usage.promptTokens += result.usage.promptTokens
        process.usage.generatedTokens += result.usage.completionTokens
        if let limit = process.quotas.tokens, quotaBounds, process.usage.generatedTokens >= limit, result.finishReason == .length {
            // The answer was cut by the quota: the process is out of tokens. (An answer cut
            // at the caller's own limit, which happened to spend the last tokens, is returned;
            // the next generation finds the quota spent.)
            terminate(process.pid, status: .quotaExceeded("tokens (\(limit))"))
            throw SyscallError.quotaExceeded("tokens (\(limit))")
        }
        return result
    }

    /// Reads `events` to the end and runs the output guard over the answer, off the kernel's actor.
    @concurrent
    static func collectScreened(
        _ events: AsyncThrowingStream<GenerationEvent, any Error>, _ security: SecurityMonitor, onText: @Sendable () -> Void
    ) async throws -> (GenerationResult, (text: String, note: SecurityNote?)) {
        let result = try await events.collect { _ in onText() }
        return (result, await security.screenAnswer(result.text))
    }

    /// Records what the router did with `decision` after choosing: failovers, and who
    /// served it or how it failed. Routing events hold no prompt text and no credential.
    func recordRouting(_ decision: RoutingDecision, for process: ProcessRecord) {
        guard let router = processor?.routing else { return }
        for event in router.log.events(of: decision.id) {
            switch event {
            case .decided, .rewarded: continue
            case .failedOver(_, _, _, let error): recordEvent(process, "route.failover", event.description, .failed(error))
            case .completed: recordEvent(process, "route.served", event.description, .completed)
            case .failed(_, let error): recordEvent(process, "route.failed", event.description, .failed(error))
            }
        }
    }

    /// Raises the process's privacy by the rule of `PrivacyLabel.init(provenance:)` for data
    /// with `label` that entered its context.
    func takeIn(_ label: ProvenanceLabel, _ process: ProcessRecord) {
        process.privacy = process.privacy.joined(with: PrivacyLabel(provenance: label))
    }
}
