import Foundation
import Testing

/// `anima-bench build` as the benchmark is run: the retrieval measurement on the
/// real suite and embedder, a small run with tasks solved at once, and bad flags.
@Suite("Build suite benchmark")
struct BuildBenchTests {
    static let suite = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("contrib/bench/build").path

    /// The precision column of `scoring`'s table at `threshold`.
    static func precision(_ output: String, scoring: String, threshold: String) -> Double? {
        let table = output.components(separatedBy: "\n\(scoring): ").dropFirst().first ?? ""
        let row = table.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(threshold + " ") }
        return row?.split(separator: " ").dropFirst(2).first.flatMap { Double($0.dropLast()) }
    }

    @Test func retrievalIsMeasuredUnderEachScoringWithoutAModel() throws {
        let result = try CLI.run(["build", "--retrieval", "--suite", Self.suite], executable: CLI.bench)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("skill retrieval: 43 tasks, 26 with an earlier task of their family"), "\(result.stdout)")
        for scoring in ["words", "meaning", "hybrid"] {
            #expect(result.stdout.contains("\n\(scoring): closest is of the task's family for "), "\(result.stdout)")
        }
        // The default thresholds (`SkillLibrary.Scoring.threshold`) show mostly skills of the task's own kind.
        #expect((Self.precision(result.stdout, scoring: "words", threshold: "0.40") ?? 0) >= 80, "\(result.stdout)")
        #expect((Self.precision(result.stdout, scoring: "hybrid", threshold: "0.45") ?? 0) >= 80, "\(result.stdout)")
        #expect((Self.precision(result.stdout, scoring: "meaning", threshold: "0.60") ?? 0) >= 80, "\(result.stdout)")
    }

    @Test func tasksRunSeveralAtOnceAndEveryOneIsCounted() throws {
        // SmolLM2 (the default model) one-shot on three tasks, two at a time, in the sandbox.
        let result = try CLI.run(
            ["build", "--suite", Self.suite, "--limit", "3", "--jobs", "2", "--modes", "one-shot", "--tokens-per-step", "48", "--verbose"],
            executable: CLI.bench)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("3 tasks") && result.stdout.contains("2 at a time"), "\(result.stdout)")
        for task in ["gcd", "lcm", "is-prime"] { #expect(result.stdout.contains("  \(task) one-shot: "), "\(result.stdout)") }
        let row = result.stdout.split(separator: "\n").first { $0.hasPrefix("one-shot ") }
        #expect(row?.contains("/3") == true, "\(result.stdout)")
    }

    @Test func badModesAndCountsAreRefusedWithWhatToUse() throws {
        let mode = try CLI.run(["build", "--suite", Self.suite, "--modes", "loop,guess", "--retrieval"], executable: CLI.bench)
        #expect(mode.status != 0 && mode.stderr.contains("unknown mode guess") && mode.stderr.contains("one-shot-bare"), "\(mode.stderr)")
        for jobs in ["0", "17", "1e300", "NaN"] {
            let bad = try CLI.run(["build", "--suite", Self.suite, "--jobs", jobs, "--retrieval"], executable: CLI.bench)
            #expect(bad.status != 0 && bad.stderr.contains("--jobs"), "\(jobs): \(bad.stderr)")
        }
        let scoring = try CLI.run(["build", "--suite", Self.suite, "--scoring", "vibes", "--retrieval"], executable: CLI.bench)
        #expect(scoring.status != 0 && scoring.stderr.contains("words"), "\(scoring.stderr)")
    }
}
