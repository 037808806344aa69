import Foundation

/// A generated long-conversation retrieval benchmark: several multi-session conversations
/// between a user and an assistant with planted facts, later updates that override them,
/// dated events, facts that only answer a question together, the assistant's own wrong
/// guesses, and distractors that share the facts' words. Every question names the turns
/// that hold its evidence. The same seed always gives the same corpus.
struct RetrievalCorpus {
    /// One turn of a conversation.
    struct Turn {
        var conversation: Int
        /// Index of the turn in its conversation (the evidence id).
        var index: Int
        var fromUser: Bool
        var text: String
        var date: Date
    }

    /// What a question tests.
    enum Kind: String, CaseIterable {
        /// One fact stated once.
        case single
        /// A fact that a later turn changed; only the newest statement is evidence.
        case update
        /// An event asked for by the month it happened in, among the same event in other months.
        case temporal
        /// Two facts, each needed (the second found through an entity in the first).
        case multiHop = "multi-hop"
        /// A fact the user stated and the assistant later guessed wrongly, in closer words.
        case agentClaim = "agent-claim"
    }

    struct Question {
        var conversation: Int
        var kind: Kind
        var text: String
        /// Turn indexes (in `conversation`) that hold the evidence.
        var evidence: [Int]
    }

    var conversations: [[Turn]]
    var questions: [Question]

    /// A deterministic generator (SplitMix64).
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
        /// `count` distinct items.
        mutating func distinct<T>(_ items: [T], _ count: Int) -> [T] {
            var pool = items
            var chosen: [T] = []
            for _ in 0..<min(count, pool.count) { chosen.append(pool.remove(at: below(pool.count))) }
            return chosen
        }
    }

    static let names = [
        "Clara", "Tomas", "Amara", "Jonah", "Priya", "Mateo", "Ingrid", "Kofi", "Lena", "Ravi", "Sofia", "Emeka", "Hana", "Diego",
        "Freya", "Yusuf", "Marta", "Oskar", "Nadia", "Felix", "Zara", "Hugo", "Keiko", "Luca",
    ]
    static let surnames = [
        "Okafor", "Lindqvist", "Moreau", "Tanaka", "Castillo", "Novak", "Brennan", "Haddad", "Kowalski", "Fischer", "Mensah", "Duarte",
        "Petrov", "Sato", "Varga", "Ahmed",
    ]
    static let cities = [
        "Lisbon", "Porto", "Madrid", "Berlin", "Vienna", "Oslo", "Dublin", "Prague", "Krakow", "Seville", "Lyon", "Geneva", "Toronto",
        "Denver", "Nairobi", "Osaka", "Melbourne", "Austin", "Glasgow", "Bologna",
    ]
    static let streets = [
        "Baker Street", "Elm Avenue", "Harbour Road", "Mill Lane", "Castle Street", "Station Road", "Maple Drive", "Church Lane",
        "Kings Road", "Rose Avenue",
    ]
    static let companies = [
        "Northwind", "Bluefin Labs", "Solstice Health", "Ironbark", "Quillstone", "Redwater Logistics", "Brightloom", "Cobalt Foods",
        "Tidewell", "Larkspur Media",
    ]
    static let jobs = [
        "nurse", "data analyst", "architect", "teacher", "pharmacist", "electrician", "product designer", "accountant", "chef",
        "paramedic",
    ]
    static let pets = ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster"]
    static let petNames = ["Biscuit", "Pepper", "Mochi", "Ziggy", "Luna", "Waffles", "Comet", "Pickle", "Juniper", "Nugget"]
    static let instruments = ["cello", "ukulele", "piano", "violin", "saxophone", "drums", "harmonica", "banjo"]
    static let foods = ["mushroom risotto", "pad thai", "lamb tagine", "ramen", "paella", "butter chicken", "pierogi", "shakshuka"]
    static let bands = [
        "The Lumineers", "Arctic Monkeys", "Fleetwood Mac tribute", "Radiohead", "Florence and the Machine", "Coldplay", "Bon Iver",
        "The National", "Khruangbin", "Massive Attack", "Tame Impala", "Alt-J",
    ]
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]
    static let fillerUser = [
        "The weather has been grey all week, I keep forgetting my umbrella.",
        "Work was busy today, lots of meetings about the quarterly plan.",
        "I made coffee with the new grinder this morning and it was much better.",
        "My sister called me yesterday, we talked for an hour about nothing in particular.",
        "I watched a documentary about octopuses last night.",
        "I need to remember to renew my library card.",
        "The train was late again this morning.",
        "I've been trying to go to bed earlier, with mixed results.",
        "We had a long lunch with colleagues, the restaurant near the office is good.",
        "I cleaned out the garage over the weekend and found old photos.",
        "My neighbour's dog barks every time the postman comes.",
        "I'm thinking about repainting the kitchen a lighter colour.",
        "A friend recommended a podcast about city planning.",
        "I went for a walk by the river after dinner.",
        "The concert tickets for next year already sold out, which is annoying.",
        "I tried a new bakery downtown, their bread is excellent.",
        "Someone at work moved to a new city and we had a farewell party.",
        "I keep meaning to call the clinic about my appointment.",
        "The streets near my house are being dug up for new pipes.",
        "I'm reading a novel set in a small fishing town.",
    ]
    static let fillerAgent = [
        "That sounds nice. How did it make you feel?", "Thanks for telling me. Anything else on your mind?",
        "I'll keep that in mind.", "Good to hear! What are you planning next?", "That must have been tiring.",
        "Interesting, tell me more about it.", "Sounds like a full day.", "I hope the rest of your week is calmer.",
    ]

    /// Builds the corpus.
    ///
    /// - Parameters:
    ///   - conversations: how many conversations (users).
    ///   - sessions: sessions per conversation, a week apart.
    ///   - seed: the generator's seed.
    static func generate(conversations count: Int, sessions: Int, seed: UInt64) -> RetrievalCorpus {
        var rng = Generator(state: seed)
        var all: [[Turn]] = []
        var questions: [Question] = []
        let start = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01 UTC
        for c in 0..<count {
            // Each session is a list of user statements with an optional question hook;
            // planted facts are spread over the sessions, filler surrounds them.
            var planned: [[(text: String, fromUser: Bool, tag: String?)]] = Array(repeating: [], count: sessions)
            func plant(_ session: Int, _ text: String, fromUser: Bool = true, tag: String? = nil) {
                planned[min(sessions - 1, max(0, session))].append((text, fromUser, tag))
            }
            var hooks: [(kind: Kind, question: String, tags: [String])] = []
            let people = rng.distinct(names, 8)
            let places = rng.distinct(cities, 10)
            let firms = rng.distinct(companies, 4)
            let docs = rng.distinct(surnames, 4)

            // single facts
            let pet = rng.pick(pets), petName = rng.pick(petNames)
            plant(rng.below(sessions), "We finally adopted a \(pet) last weekend and named it \(petName).", tag: "pet")
            hooks.append((.single, "What did I call my \(pet)?", ["pet"]))
            let instrument = rng.pick(instruments)
            plant(rng.below(sessions), "I've started taking \(instrument) lessons on Saturday mornings.", tag: "instrument")
            hooks.append((.single, "Which instrument am I learning to play?", ["instrument"]))
            let food = rng.pick(foods)
            plant(rng.below(sessions), "Honestly my favourite dish in the world is \(food).", tag: "food")
            hooks.append((.single, "What meal do I like best?", ["food"]))
            let friend = people[3], friendCity = places[5]
            plant(rng.below(sessions), "My best friend \(friend) is from \(friendCity) originally.", tag: "friend")
            hooks.append((.single, "Where does my best friend come from?", ["friend"]))

            // updates: the older statement is a trap
            let sister = people[0]
            let firstCity = places[0], laterCity = places[1]
            let early = rng.below(max(1, sessions / 2)), late = sessions / 2 + rng.below(max(1, sessions - sessions / 2))
            plant(early, "My sister \(sister) lives in \(firstCity), she loves it there.", tag: "sister-old")
            plant(late, "Big news: \(sister) has moved to \(laterCity) for good.", tag: "sister-new")
            hooks.append((.update, "Which city does my sister \(sister) live in now?", ["sister-new"]))
            let job1 = rng.distinct(jobs, 2), firm1 = firms[0], firm2 = firms[1]
            plant(early, "I work as a \(job1[0]) at \(firm1), it's a decent job.", tag: "job-old")
            plant(late, "I handed in my notice and started as a \(job1[1]) at \(firm2) this week.", tag: "job-new")
            hooks.append((.update, "What is my current job?", ["job-new"]))

            // temporal: the same kind of event in several months; the question names the month
            let concertSessions = rng.distinct(Array(0..<sessions), min(sessions, 3))
            for (n, s) in concertSessions.enumerated() {
                let band = rng.pick(bands)
                plant(s, "Went to see \(band) in concert last night, what a show.", tag: n == 0 ? "concert" : nil)
            }
            hooks.append((.temporal, "Which band did I see live in {month:concert}?", ["concert"]))
            let tripSessions = rng.distinct(Array(0..<sessions), min(sessions, 2))
            for (n, s) in tripSessions.enumerated() {
                plant(s, "Just got back from a long weekend in \(places[6 + n]).", tag: n == 0 ? "trip" : nil)
            }
            hooks.append((.temporal, "Where did I travel in {month:trip}?", ["trip"]))

            // multi-hop: the second fact is reached through the entity in the first
            let dentist = docs[0], street = rng.pick(streets)
            plant(rng.below(sessions), "My dentist is Dr. \(dentist), very gentle.", tag: "dentist")
            plant(rng.below(sessions), "Dr. \(dentist) has a practice on \(street) now.", tag: "practice")
            plant(rng.below(sessions), "The new pharmacy on \(rng.pick(streets)) opened this month.")
            hooks.append((.multiHop, "What street is my dentist's practice on?", ["dentist", "practice"]))
            let brother = people[1], hq = places[7]
            plant(rng.below(sessions), "My brother \(brother) got a job at \(firms[2]).", tag: "brother")
            plant(rng.below(sessions), "\(firms[2]) is headquartered in \(hq), apparently.", tag: "firm")
            plant(rng.below(sessions), "\(firms[3]) is headquartered in \(places[8]), I read.")
            hooks.append((.multiHop, "In which city is my brother's employer headquartered?", ["brother", "firm"]))

            // the assistant's own wrong guesses, in words closer to the question
            let colleague = people[2], colleagueCity = places[2], wrongCity = places[3]
            let told = rng.below(max(1, sessions - 1))
            plant(told, "My colleague \(colleague) commutes from \(colleagueCity) every day.", tag: "colleague")
            plant(
                told + 1 + rng.below(max(1, sessions - told - 1)),
                "Where does your colleague \(colleague) live? I believe your colleague \(colleague) lives in \(wrongCity).",
                fromUser: false)
            hooks.append((.agentClaim, "Where does my colleague \(colleague) live?", ["colleague"]))
            let car = rng.pick(["Volvo", "Subaru", "Fiat", "Toyota", "Skoda"])
            let wrongCar = rng.pick(["Tesla", "Mini", "Jeep"])
            plant(rng.below(max(1, sessions - 1)), "I still drive my old \(car), twelve years and counting.", tag: "car")
            plant(sessions - 1, "What car do you drive? I think the car you drive is a \(wrongCar).", fromUser: false)
            hooks.append((.agentClaim, "What car do I drive?", ["car"]))

            // distractors: other people's facts in the same words
            plant(rng.below(sessions), "My coworker's sister lives in \(places[4]), near the coast.")
            plant(rng.below(sessions), "\(people[4])'s dentist retired last year.")
            plant(rng.below(sessions), "A friend of mine adopted a \(rng.pick(pets)) too.")
            plant(rng.below(sessions), "My cousin \(people[5]) started as a \(rng.pick(jobs)) somewhere.")

            // lay out the sessions: filler around the planted turns, an assistant reply after each user turn
            var turns: [Turn] = []
            var tagged: [String: Int] = [:]
            var sessionOf: [String: Int] = [:]
            for s in 0..<sessions {
                let day = start.addingTimeInterval(Double(s * 31 + c % 3) * 86_400 + 18 * 3600)
                var items = planned[s]
                for _ in 0..<(8 + rng.below(6)) {
                    items.insert((rng.pick(fillerUser), true, nil), at: rng.below(items.count + 1))
                }
                for item in items {
                    let date = day.addingTimeInterval(Double(turns.count % 200) * 60)
                    if let tag = item.tag {
                        tagged[tag] = turns.count
                        sessionOf[tag] = s
                    }
                    turns.append(Turn(conversation: c, index: turns.count, fromUser: item.fromUser, text: item.text, date: date))
                    if item.fromUser {
                        turns.append(
                            Turn(
                                conversation: c, index: turns.count, fromUser: false, text: rng.pick(fillerAgent),
                                date: date.addingTimeInterval(20)))
                    }
                }
            }
            let calendar = Self.calendar
            for hook in hooks {
                var text = hook.question
                if let range = text.range(of: "\\{month:[a-z]+\\}", options: .regularExpression) {
                    let tag = String(text[range].dropFirst(7).dropLast())
                    let date = turns[tagged[tag]!].date
                    let month = months[calendar.component(.month, from: date) - 1]
                    text.replaceSubrange(range, with: "\(month) \(calendar.component(.year, from: date))")
                }
                questions.append(Question(conversation: c, kind: hook.kind, text: text, evidence: hook.tags.map { tagged[$0]! }))
            }
            all.append(turns)
        }
        return RetrievalCorpus(conversations: all, questions: questions)
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
