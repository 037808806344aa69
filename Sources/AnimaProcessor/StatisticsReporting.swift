/// A processor with a continuous batch that reports what its engine is doing, for
/// metrics, `/proc` and the router's view of local load.
public protocol StatisticsReporting: Sendable {
    var statistics: EngineStatistics { get }
}
