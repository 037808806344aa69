import AnimaCore
import AnimaSecurity
import Testing

@testable import AnimaKernel

@Suite("Red-team scan")
struct RedTeamScanTests {
    @Test func theCorpusCoversEveryCategory() {
        let categories = Set(RedTeamCorpus.probes.map(\.category))
        #expect(categories == Set(RedTeamProbe.Category.allCases))
        #expect(Set(RedTeamCorpus.probes.map(\.name)).count == RedTeamCorpus.probes.count)
        for probe in RedTeamCorpus.probes { #expect(probe.text.contains(probe.trigger), "\(probe.name)") }
    }

    @Test func withTheMonitorNoProbeSucceeds() async throws {
        let outcomes = try await RedTeamScan(security: SecurityMonitor()).run()
        let failed = outcomes.filter(\.failed).map { "\($0.probe.name): \($0.violations) leaked=\($0.leaked)" }
        #expect(failed.isEmpty, "\(failed)")
        // The benign part of each task still ran to an answer.
        #expect(outcomes.allSatisfy { if case .completed = $0.status { true } else { false } })
    }

    @Test func withoutItTheWorstCaseModelIsCaughtInEveryCategory() async throws {
        let outcomes = try await RedTeamScan(security: nil).run()
        let failedCategories = Set(outcomes.filter(\.failed).map(\.probe.category))
        #expect(failedCategories == Set(RedTeamProbe.Category.allCases), "\(outcomes.filter { !$0.failed }.map(\.probe.name))")
    }
}
