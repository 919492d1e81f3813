using Pronto.Core.Errors;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

[Collection(BundledCollection.Name)]
public sealed class ShardTests(BatchRepositoryFixture fixture)
{
    [Fact]
    public async Task Shards_sharing_a_folder_cover_the_input_exactly_once_in_order()
    {
        var dir = Temp();
        // Two files: shards and part boundaries follow global row numbers across them.
        var rows = Transactions(1300, seed: 21);
        WriteCsv(Path.Combine(dir, "a.csv"), rows[..700]);
        WriteCsv(Path.Combine(dir, "b.csv"), rows[700..]);
        var whole = await CliAsync(fixture, "batch", "fraud", "--input", dir, "--output", Path.Combine(dir, "whole"), "--format", "jsonl", "--part-rows", "100");
        Assert.True(whole.Code == 0, whole.Error);
        for (var i = 0; i < 3; i++)
        {
            var shard = await CliAsync(fixture, "batch", "fraud", "--input", dir, "--output", Path.Combine(dir, "sharded"), "--format", "jsonl", "--part-rows", "100", "--shard", $"{i}/3");
            Assert.True(shard.Code == 0, shard.Error);
        }

        var parts = Directory.GetFiles(Path.Combine(dir, "sharded"), "part-*.jsonl").Where(f => !f.EndsWith(".errors.jsonl", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(13, parts.Length);
        var ids = parts.SelectMany(File.ReadAllLines).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()).ToArray();
        // The id restarts per file (t0.. in a.csv, t0.. in b.csv): the sequence is a.csv's rows then b.csv's.
        Assert.Equal(Enumerable.Range(0, 700).Concat(Enumerable.Range(0, 600)).Select(i => "t" + i), ids);

        var wholeParts = Directory.GetFiles(Path.Combine(dir, "whole"), "part-*.jsonl").Where(f => !f.EndsWith(".errors.jsonl", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(parts.SelectMany(File.ReadAllLines), wholeParts.SelectMany(File.ReadAllLines));
        Assert.True(File.Exists(Path.Combine(dir, "sharded", "errors-2-of-3.jsonl")));
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("1/0")]
    [InlineData("-1/2")]
    [InlineData("2")]
    public void Bad_shard_specs_are_rejected(string text)
    {
        var e = Assert.Throws<ProntoException>(() => Shard.Parse(text));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
    }

    [Fact]
    public void Parts_go_round_robin_to_shards()
    {
        var shard = Shard.Parse("2/8");
        Assert.True(shard.Owns(2));
        Assert.True(shard.Owns(10));
        Assert.False(shard.Owns(3));
    }
}
