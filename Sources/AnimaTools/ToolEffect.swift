/// What calling a tool does to the world, from harmless to consequential. The security
/// layer uses it to decide which calls need a guard or the user's confirmation.
public enum ToolEffect: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Reads or computes; changes nothing.
    case readOnly
    /// Changes local state: the agent's workspace, a session.
    case writesLocal
    /// Reaches the network.
    case network
    /// Spends money or sends messages on someone's behalf.
    case spendsOrSends

    public static func < (lhs: ToolEffect, rhs: ToolEffect) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
