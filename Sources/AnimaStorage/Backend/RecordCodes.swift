import AnimaCore

/// The codes memory storage keeps for a record's source: never reused, so a database
/// written by one version reads the same in the next.
extension MemorySource {
    var code: Int {
        switch self {
        case .user: 1
        case .agent: 2
        case .tool: 3
        case .import: 4
        }
    }

    init?(code: Int) {
        guard let source = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = source
    }
}
