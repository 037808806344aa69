/// What a processor can do beyond `LanguageModel`, asked for by name instead of by downcast.
///
/// A client such as the kernel sees only `any LanguageModel`; these properties tell it
/// whether the processor also time-shares slots or routes among others. A wrapper that forwards to another model says nil unless it forwards the
/// capability too, so what a client sees is what the wrapper really offers.
extension LanguageModel {
    public var timeSharing: (any TimeSharedModel)? { nil }
    public var routing: (any ProcessorRouting)? { nil }
}

extension TimeSharedModel {
    public var timeSharing: (any TimeSharedModel)? { self }
}

extension LanguageModel where Self: ProcessorRouting {
    public var routing: (any ProcessorRouting)? { self }
}
