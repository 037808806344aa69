/// A processor that runs several generations at once in a fixed number of slots, lets a
/// `SlotScheduler` (the kernel's `Scheduler`) decide who holds them, and can take a
/// generation off its slot and put it back later without losing its place (a context
/// switch).
///
/// A slot is a place in the batch that one generation holds while it runs; the KV cache
/// behind it is a llama.cpp sequence (an engine may keep more sequences than slots, for
/// shared prefixes). The kernel drives processes through this protocol; `LlamaEngine` and
/// `ScriptedProcessor` implement it.
public protocol TimeSharedModel: LanguageModel {
    /// How many generations decode together.
    var slotCount: Int { get }

    /// Starts a generation; `priority` is what the scheduler sees (larger runs first).
    func start(_ request: GenerationRequest, priority: Int) -> any GenerationControl
}

extension TimeSharedModel {
    /// Starts a generation at normal priority.
    public func start(_ request: GenerationRequest) -> any GenerationControl { start(request, priority: 0) }
}

/// A generation in progress: its events, and its place on the processor.
public protocol GenerationControl: Sendable {
    var id: UInt64 { get }
    /// The generation's events; cancelling the task that reads them stops it.
    var events: AsyncThrowingStream<GenerationEvent, any Error> { get }

    /// The slot it holds now, or nil while it waits for one (or is suspended or done).
    var slot: Int? { get }

    /// Pauses at the next token boundary: saves the KV state and frees the slot. The
    /// event stream stays open and continues after `resume()`.
    @discardableResult
    func suspend() async throws -> SuspendedState

    /// Lets the generation compete for a slot again; returns the slot it got.
    @discardableResult
    func resume() async throws -> Int

    /// Changes the priority the scheduler sees from the next step on.
    func setPriority(_ priority: Int)

    /// Stops the generation and frees its slot and KV state; returns once they are free.
    func cancel() async
}
