import Foundation

/// A solution that passed its checks, kept for later tasks: what it does, its code, the
/// tests that verified it, where it came from and whose it is.
public struct Skill: Sendable, Hashable, Codable {
    public var id: String
    public var owner: String
    /// What it does, in the words of the requirement it met (what retrieval matches).
    public var description: String
    public var module: String
    public var code: String
    /// The tests that verified it (file name → source); empty when they were hidden.
    public var tests: [String: String]
    /// Where it came from: the task and subtask, or the benchmark task.
    public var provenance: String
    public var created: Date
    /// Later uses: checks passed and failed with this skill in the prompt.
    public var successes: Int
    public var failures: Int

    public init(
        id: String, owner: String, description: String, module: String, code: String, tests: [String: String], provenance: String,
        created: Date = Date(), successes: Int = 0, failures: Int = 0
    ) {
        self.id = id
        self.owner = owner
        self.description = description
        self.module = module
        self.code = code
        self.tests = tests
        self.provenance = provenance
        self.created = created
        self.successes = successes
        self.failures = failures
    }

    /// The top-level functions its code defines (`def name(` at the start of a line), in order.
    public var functions: [String] {
        code.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("def ") else { return nil }
            let name = line.dropFirst(4).prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return name.isEmpty || name.first!.isNumber || !name.allSatisfy(\.isASCII) ? nil : String(name)
        }
    }

    /// A skill that failed more often than it helped since it was kept: it is no longer offered.
    public var isDemoted: Bool { failures > successes }
}
