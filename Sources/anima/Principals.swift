import AnimaCommandSupport
import AnimaCore
import AnimaSecurity
import ArgumentParser
import Foundation

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, add and remove Anima users (changes need root and are audited).",
        discussion: """
            Examples:
              anima users
              sudo anima users add alice --groups users,net
              sudo anima users remove alice
            """,
        subcommands: [UsersList.self, UsersAdd.self, UsersRemove.self],
        defaultSubcommand: UsersList.self
    )
}

struct UsersList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Users and their groups.")
    @OptionGroup var options: SecurityOptions

    mutating func run() async throws {
        for (name, groups) in try options.principals().users.sorted(by: { $0.key < $1.key }) {
            print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + groups.sorted().joined(separator: ","))
        }
    }
}

struct UsersAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a user.")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The user's name.") var name: String
    @Option(help: "Comma-separated groups.") var groups = "users"

    mutating func run() async throws {
        let set = Set(groups.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) })
        try options.principals().addUser(name, groups: set, by: try options.caller())
        print("added \(name) (\(set.sorted().joined(separator: ",")))")
    }
}

struct UsersRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a user.")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The user's name.") var name: String

    mutating func run() async throws {
        try options.principals().removeUser(name, by: try options.caller())
        print("removed \(name)")
    }
}

struct Groups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, add, remove and map groups (changes need root and are audited).",
        discussion: """
            Removing a group takes it from every member; running agents lose it at their
            next syscall. Where Anima runs as root, a group can map onto a Linux group:
            sandboxed tools (the shell) then run with exactly the mapped gids of the
            groups their owner holds at the time of the call as supplementary groups, so
            files owned by that Linux group are readable only to members.

            Examples:
              anima groups
              sudo anima groups add datasets-finance --description "finance data sets"
              sudo anima groups map datasets-finance --create      # a new Linux group anima-datasets-finance
              sudo anima groups map datasets-health --gid 1207
              sudo anima groups map datasets-health --remove
              sudo anima groups remove gpu
            """,
        subcommands: [GroupsList.self, GroupsAdd.self, GroupsRemove.self, GroupsMap.self],
        defaultSubcommand: GroupsList.self
    )
}

struct GroupsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Groups, what they are for, and their members.")
    @OptionGroup var options: SecurityOptions

    mutating func run() async throws {
        let store = try options.principals()
        let users = store.users
        for (name, group) in store.groups.sorted(by: { $0.key < $1.key }) {
            let members = users.filter { $0.value.contains(name) }.keys.sorted().joined(separator: ",")
            let gid = group.gid.map { "gid \($0)" } ?? ""
            print(
                name.padding(toLength: 18, withPad: " ", startingAt: 0)
                    + group.description.padding(toLength: 36, withPad: " ", startingAt: 0)
                    + gid.padding(toLength: 11, withPad: " ", startingAt: 0) + members)
        }
    }
}

struct GroupsAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a group.")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The group's name.") var name: String
    @Option(help: "What membership grants.") var description = ""

    mutating func run() async throws {
        try options.principals().addGroup(name, description: description, by: try options.caller())
        print("added group \(name)")
    }
}

struct GroupsRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a group from the store and every member.")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The group's name.") var name: String

    mutating func run() async throws {
        try options.principals().removeGroup(name, by: try options.caller())
        print("removed group \(name)")
    }
}

struct GroupsMap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map", abstract: "Map a group onto a Linux group for sandboxed tools (root only; audited).")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The Anima group.") var name: String
    @Option(help: NumericFlag.help("An existing Linux group id.", 0...UInt32.max - 1), transform: NumericFlag.integer(0...UInt32.max - 1))
    var gid: UInt32?
    @Flag(help: "Create the Linux group anima-NAME (groupadd --system) and map onto it.") var create = false
    @Flag(help: "Remove the mapping.") var remove = false

    mutating func validate() throws {
        guard [gid != nil, create, remove].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --gid N, --create or --remove")
        }
    }

    mutating func run() async throws {
        let store = try options.principals()
        let caller = try options.caller()
        guard store.groups[name] != nil else { throw SecurityError.noSuchGroup(name) }
        var target = gid
        if create {
            guard caller.isRoot else { throw SecurityError.permissionDenied("only root creates Linux groups") }
            target = try Self.createLinuxGroup("anima-" + name)
        }
        try store.mapGroup(name, toGID: remove ? nil : target, by: caller)
        print(remove ? "group \(name) maps onto no Linux group" : "group \(name) maps onto Linux gid \(target!)")
    }

    /// Creates (or finds) the Linux group `linuxName` and returns its gid.
    static func createLinuxGroup(_ linuxName: String) throws -> UInt32 {
        if let existing = getgrnam(linuxName) { return existing.pointee.gr_gid }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/groupadd")
        process.arguments = ["--system", linuxName]
        do { try process.run() } catch {
            throw ValidationError("cannot run /usr/sbin/groupadd (\(error.localizedDescription)); create the group yourself and use --gid")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0, let created = getgrnam(linuxName) else {
            throw ValidationError(
                "groupadd --system \(linuxName) failed (status \(process.terminationStatus)); create it yourself and use --gid")
        }
        return created.pointee.gr_gid
    }
}

struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add a user to a group (root only; audited).",
        discussion: "Example:\n  sudo anima grant alice logs")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The user.") var user: String
    @Argument(help: "The group.") var group: String

    mutating func run() async throws {
        try options.principals().grant(group, to: user, by: try options.caller())
        print("\(user) is now in \(group)")
    }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a user from a group (root only; audited; effective at the next syscall).",
        discussion: "Example:\n  sudo anima revoke alice net")
    @OptionGroup var options: SecurityOptions
    @Argument(help: "The user.") var user: String
    @Argument(help: "The group.") var group: String

    mutating func run() async throws {
        try options.principals().revoke(group, from: user, by: try options.caller())
        print("\(user) is no longer in \(group)")
    }
}
