/// A capability a tool needs from the machine; an agent gets it only through its groups.
public enum ToolNeed: String, Sendable, Hashable, Codable, CaseIterable {
    /// The agent's own workspace directory. Every agent has one, so it needs no group.
    case workspace
    /// Network access (the `net` group).
    case network
    /// Devices beyond the sandbox's minimal /dev (the `device` group).
    case device
    /// A GPU (the `gpu` group).
    case gpu

    /// The group that grants the need, or nil when every agent has it.
    public var group: String? {
        switch self {
        case .workspace: nil
        case .network: "net"
        case .device: "device"
        case .gpu: "gpu"
        }
    }
}
