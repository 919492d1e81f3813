using Pronto.Core.Errors;
using Pronto.Core.Processing;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Processing;

public sealed class ClassificationTests
{
    [Fact]
    public void Classification_strings_read_back_as_the_classes_they_were_written_from()
    {
        var scores = Tensor.Create(new[] { 0.25f, 0.75f, 0.5f, 0.125f, 0.875f, 0f }, 2, 3);
        string[] labels = ["cat", "dog: large", "bird"];
        var strings = Classification.ToTensor(scores, 2, labels);

        var rows = Classification.FromTensor(strings);

        // Six decimals in the strings, so the scores come back exactly for these binary fractions; a label may hold colons.
        Assert.Equal(Classification.TopK(scores, 2, labels), rows);
        Assert.Equal(new ClassScore(0.75f, 1, "dog: large"), rows[0][0]);
        Assert.Equal(new ClassScore(0.875f, 1, "dog: large"), rows[1][0]);
        Assert.Equal(new ClassScore(0.5f, 2, "bird"), rows[0][1]);
    }

    [Fact]
    public void A_one_dimensional_classification_is_one_row()
    {
        var rows = Classification.FromTensor(Tensor.FromStrings(["0.900000:3:3", "0.100000:0:0"], [2]));
        Assert.Equal([[new ClassScore(0.9f, 3, "3"), new ClassScore(0.1f, 0, "0")]], rows);
    }

    [Theory]
    [InlineData("0.5:cat")]
    [InlineData("high:1:cat")]
    [InlineData("0.5:-1:cat")]
    public void A_string_that_is_not_score_index_label_is_named(string element)
    {
        var error = Assert.Throws<ProntoException>(() => Classification.FromTensor(Tensor.FromStrings([element])));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal($"classification element '{element}' is not 'score:index:label'", error.Message);
    }

    [Fact]
    public void A_numeric_tensor_is_not_a_classification()
    {
        var error = Assert.Throws<ProntoException>(() => Classification.FromTensor(Tensor.Create(new[] { 1f }, 1)));
        Assert.Equal("a classification output is BYTES, got FP32", error.Message);
    }
}
