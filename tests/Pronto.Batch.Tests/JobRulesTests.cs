using Pronto.Cli;
using Pronto.Core.Errors;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

[Collection(BundledCollection.Name)]
public sealed class JobRulesTests(BatchRepositoryFixture fixture)
{
    [Fact]
    public async Task Resume_refuses_a_checkpoint_of_another_job()
    {
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(100));
        var first = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "parts"), "--part-rows", "50");
        Assert.Equal(0, first.Code);
        File.Delete(Path.Combine(dir, "parts", "errors.jsonl"));
        File.WriteAllText(Path.Combine(dir, "parts", "_checkpoint.jsonl"), File.ReadAllLines(Path.Combine(dir, "parts", "_checkpoint.jsonl"))[0] + "\n");
        var other = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "parts"), "--part-rows", "40", "--resume");
        Assert.Equal(ExitCodes.InvalidArgument, other.Code);
        Assert.Contains("was written by a different job", other.Error);
    }

    [Fact]
    public async Task A_missing_column_is_an_error_that_lists_the_input_columns()
    {
        var dir = Temp();
        File.WriteAllText(Path.Combine(dir, "in.csv"), "id,amount\n1,2\n");
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"));
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Contains("model 'fraud' needs field 'customer_avg_amount' from a column 'customer_avg_amount', which the input does not have (its columns are id, amount); name another with --map", error);

        (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"), "--column", "amount");
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Contains("--column names the one text or image column", error);
        Assert.False(File.Exists(Path.Combine(dir, "out.jsonl")));
    }

    [Fact]
    public void A_torn_last_checkpoint_line_is_not_a_commit()
    {
        var dir = Temp();
        var path = Path.Combine(dir, "_checkpoint.jsonl");
        File.WriteAllText(path, "{\"job\":1}\n{\"part\":0,\"rows\":10,\"written\":9,\"errors\":1}\n{\"part\":1,\"rows\":1");
        var checkpoint = Checkpoint.Load(path, "{\"job\":1}");
        Assert.Equal([0L], checkpoint.Parts.Keys);
        Assert.Equal("{\"job\":1}\n{\"part\":0,\"rows\":10,\"written\":9,\"errors\":1}\n", File.ReadAllText(path));

        var e = Assert.Throws<ProntoException>(() => Checkpoint.Load(path, "{\"job\":2}"));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
    }

    [Fact]
    public async Task An_output_inside_the_input_folder_is_refused()
    {
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(10));
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", dir, "--output", Path.Combine(dir, "out.jsonl"));
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Contains("would write into the input folder", error);
    }
}
