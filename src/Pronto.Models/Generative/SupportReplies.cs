using Pronto.Models.Samples;

namespace Pronto.Models.Generative;

/// <summary>
/// The demo chat model's data: every customer ticket <see cref="SampleTexts"/> can write (subject, problem, detail:
/// 12 x 12 x 12 = 1,728) and the reply a support desk would send: an acknowledgement of the problem, what the team of
/// the subject will do, and a closing line for the detail. Synthetic and templated: the model learns to map a ticket to its reply, and the
/// held-out tickets are combinations it never saw.
/// </summary>
public static class SupportReplies
{
    private static readonly Dictionary<string, string> Acknowledgements = new(StringComparer.Ordinal)
    {
        ["was charged twice"] = "I am sorry about the double charge.",
        ["has not arrived"] = "I am sorry it has not arrived yet.",
        ["keeps failing"] = "I am sorry it keeps failing.",
        ["looks wrong"] = "Thank you for pointing this out.",
        ["was declined"] = "I am sorry about the decline.",
        ["needs an update"] = "Thank you for letting us know.",
        ["is missing"] = "I am sorry it is missing.",
        ["got blocked"] = "I am sorry it was blocked.",
        ["shows a charge I do not recognise"] = "Thank you for reporting the unknown charge.",
        ["was cancelled without notice"] = "I am sorry it was cancelled without notice.",
        ["takes too long"] = "I am sorry for the wait.",
        ["was refunded only in part"] = "I am sorry the refund was not complete.",
    };

    private static readonly Dictionary<string, string> Actions = new(StringComparer.Ordinal)
    {
        ["my card"] = "Our card team will check your card within one day.",
        ["the refund"] = "Our billing team will review the refund today.",
        ["this invoice"] = "Our billing team will correct the invoice.",
        ["the app"] = "Please update the app and write again if it happens.",
        ["my password"] = "Please reset your password from the sign-in page.",
        ["the delivery"] = "Our courier desk will trace the delivery.",
        ["a payment"] = "Our payments team will trace the payment.",
        ["my account"] = "Our security team will review your account.",
        ["the transfer"] = "Our payments team will trace the transfer.",
        ["my subscription"] = "Our billing team will review your subscription.",
        ["the merchant"] = "We will contact the merchant for you.",
        ["a withdrawal"] = "Our card team will check the withdrawal.",
    };

    private static readonly Dictionary<string, string> Closings = new(StringComparer.Ordinal)
    {
        ["since yesterday"] = "We know this has gone on since yesterday.",
        ["at the store"] = "Please keep the store receipt.",
        ["after the update"] = "We are checking the latest update.",
        ["on my phone"] = "Please try again on another device.",
        ["for the third time"] = "I have marked this as urgent.",
        ["please help"] = "We are here to help.",
        ["again today"] = "I have marked this as urgent.",
        ["last week"] = "We will look back at last week's activity.",
        ["while I was abroad"] = "Please tell us the country you were in.",
        ["at an ATM"] = "Please keep the ATM slip.",
        ["in the online shop"] = "Please send us the order number.",
        ["this morning"] = "We will look at this morning's activity.",
    };

    /// <summary>A ticket and its reply.</summary>
    public sealed record Example(string Ticket, string Reply);

    /// <summary>All 1,728 tickets with their replies, in subject, problem, detail order.</summary>
    public static IReadOnlyList<Example> All()
    {
        var examples = new List<Example>();
        foreach (var subject in SampleTexts.Subjects)
        {
            foreach (var problem in SampleTexts.Problems)
            {
                foreach (var detail in SampleTexts.Details)
                {
                    examples.Add(new($"{subject} {problem} {detail}", $"{Acknowledgements[problem]} {Actions[subject]} {Closings[detail]}"));
                }
            }
        }

        return examples;
    }
}
