/// What a scheduling policy knows about one generation that wants a slot.
public struct SlotCandidate: Sendable, Hashable {
    /// The generation's identifier.
    public var id: UInt64
    /// Larger runs first. The kernel derives it from the process's priority.
    public var priority: Int
    /// Order of submission: earlier is smaller.
    public var arrival: UInt64
    /// True when the generation holds a slot now.
    public var isRunning: Bool
    /// Tokens generated since it last got a slot (its use of the current time slice).
    public var tokensThisSlice: Int
    /// Decode steps it has waited since it last ran (or since it arrived); for a whole
    /// answer, all the steps it has waited since it arrived.
    public var waitedSteps: Int
    /// Its reader takes the answer only when it is whole (a non-streamed API request): no
    /// one sees its tokens as they come, so a turn on a slot before it finishes gains it
    /// nothing, and a turn given up only makes the answer later.
    public var wholeAnswer: Bool

    public init(
        id: UInt64, priority: Int, arrival: UInt64, isRunning: Bool, tokensThisSlice: Int, waitedSteps: Int,
        wholeAnswer: Bool = false
    ) {
        self.id = id
        self.priority = priority
        self.arrival = arrival
        self.isRunning = isRunning
        self.tokensThisSlice = tokensThisSlice
        self.waitedSteps = waitedSteps
        self.wholeAnswer = wholeAnswer
    }
}
