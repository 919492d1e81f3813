using System.Globalization;
using Xunit.Abstractions;

namespace Pronto.Server.Tests.Fuzzing;

/// <summary>
/// The short, deterministic run of <see cref="ParserFuzz"/> in every CI run: 2,500 mutations per parser with seed 16.
/// <c>reliability/fuzz.sh</c> is the long run (PRONTO_FUZZ_INPUTS per parser, PRONTO_FUZZ_SEED, and
/// PRONTO_FUZZ_REPORT, a file each run's line is appended to).
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    private static readonly int Inputs = int.Parse(Environment.GetEnvironmentVariable("PRONTO_FUZZ_INPUTS") ?? "2500", CultureInfo.InvariantCulture);
    private static readonly int Seed = int.Parse(Environment.GetEnvironmentVariable("PRONTO_FUZZ_SEED") ?? "16", CultureInfo.InvariantCulture);

    public static TheoryData<string> Targets => new(ParserFuzz.Targets.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_mutation_is_accepted_or_refused_with_a_client_error(string target)
    {
        var report = ParserFuzz.Run(ParserFuzz.Target(target), Inputs, Seed);
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("PRONTO_FUZZ_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllLines(path, [report.ToString(), .. report.Crashes]);
        }

        Assert.True(report.CrashCount == 0, $"{report}\n{string.Join('\n', report.Crashes)}");
        Assert.Equal(Inputs, report.Accepted + report.Refused);

        // Both sides are reached: mutations that still parse (the corpus grows from them) and ones the parser refuses.
        Assert.InRange(report.Accepted, 1, Inputs - 1);
    }

    [Fact]
    public void A_run_is_reproducible_from_its_seed()
    {
        var first = ParserFuzz.Run(ParserFuzz.Target("json"), 500, 7);
        var second = ParserFuzz.Run(ParserFuzz.Target("json"), 500, 7);
        Assert.Equal((first.Accepted, first.Refused, first.CorpusSize), (second.Accepted, second.Refused, second.CorpusSize));
    }
}
