import AnimaCore
import Foundation
import AnimaSecurity
import ArgumentParser

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
        abstract: "List, add and remove groups (changes need root and are audited).",
        discussion: """
            Removing a group takes it from every member; running agents lose it at their
            next syscall.

            Examples:
              anima groups
              sudo anima groups add datasets-finance --description "finance data sets"
              sudo anima groups remove gpu
            """,
        subcommands: [GroupsList.self, GroupsAdd.self, GroupsRemove.self],
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
            print(name.padding(toLength: 18, withPad: " ", startingAt: 0) + group.description.padding(toLength: 36, withPad: " ", startingAt: 0) + members)
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
