using System.Text;
using Comet4Net.Delivery;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Comet4Net.Core.Tests;

[TestClass]
public sealed class FossilDeltaTests
{
    /// <summary>The vectors the JS client's test applies (Comet4Net.Client.js/test/fossil-vectors.json).</summary>
    private static readonly string VectorsPath = Path.Combine(RepoRoot(), "Comet4Net.Client.js", "test", "fossil-vectors.json");

    [TestMethod]
    public void Random_edits_round_trip()
    {
        var random = new Random(21);
        for (var i = 0; i < 400; i++)
        {
            var source = RandomText(random, random.Next(0, 3000), ascii: i % 3 != 0);
            var target = Edit(random, source);
            var delta = FossilDelta.Create(source, target);
            CollectionAssert.AreEqual(target, FossilDelta.Apply(source, delta), $"case {i}");
        }
    }

    [TestMethod]
    public void Unrelated_or_empty_inputs_round_trip()
    {
        var random = new Random(5);
        byte[][] samples = [[], [1], RandomText(random, 15, true), RandomText(random, 16, true), RandomText(random, 17, false), RandomText(random, 5000, false)];
        foreach (var a in samples)
            foreach (var b in samples)
                CollectionAssert.AreEqual(b, FossilDelta.Apply(a, FossilDelta.Create(a, b)));
    }

    [TestMethod]
    public void One_changed_field_of_a_2_KB_state_is_a_small_delta()
    {
        var (before, after) = (State(1), State(2));
        var delta = FossilDelta.Create(before, after);
        Assert.IsGreaterThan(2000, after.Length);
        Assert.IsLessThan(after.Length / 20, delta.Length, Encoding.Latin1.GetString(delta));
    }

    [TestMethod]
    public void A_wrong_base_or_a_damaged_delta_is_an_error_never_wrong_data()
    {
        var (before, after) = (State(1), State(2));
        var delta = FossilDelta.Create(before, after);
        var wrongBase = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(before).Replace("Sensor number 5", "Sensor number X"));
        Assert.Contains("checksum", Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(wrongBase, delta)).Message);
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, delta.AsSpan(0, delta.Length - 1)));
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, "Zz\n"u8));
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, "~~~~~~\n0;"u8));
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, "A\n4@zzzz,0;"u8)); // a copy past the base
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, "3\n9:abc0;"u8)); // an insert past the delta
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, "Z\n0?"u8));
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply(before, ""u8));
        Assert.ThrowsExactly<InvalidDataException>(() => FossilDelta.Apply([], "1\n1:a0;"u8)); // wrong checksum
    }

    [TestMethod]
    public void The_format_is_fossils_header_commands_and_checksum()
    {
        // "abc" inserted whole: its length, a newline, 3:abc, then the checksum ('a'<<24 | 'b'<<16 | 'c'<<8) in base-64 digits.
        var delta = Encoding.Latin1.GetString(FossilDelta.Create([], "abc"u8));
        Assert.AreEqual("3\n3:abc" + Base64(0x61626300) + ";", delta);
        var source = Encoding.ASCII.GetBytes(new string('x', 40) + "0123456789abcdefghij");
        var target = Encoding.ASCII.GetBytes(new string('x', 40) + "0123456789abcdefghij!");
        Assert.StartsWith(Base64(61) + "\n", Encoding.Latin1.GetString(FossilDelta.Create(source, target)));
        Assert.Contains("@0,", Encoding.Latin1.GetString(FossilDelta.Create(source, target)));
    }

    [TestMethod]
    public void The_checked_in_vectors_are_what_create_makes()
    {
        var random = new Random(2026);
        var vectors = new JArray();
        for (var i = 0; i < 30; i++)
        {
            var source = i < 6 ? State(i) : RandomText(random, random.Next(0, 600), ascii: i % 2 == 0);
            var target = i < 6 ? State(i * 7 + 1) : Edit(random, source);
            vectors.Add(new JObject
            {
                ["source"] = Encoding.UTF8.GetString(source),
                ["target"] = Encoding.UTF8.GetString(target),
                ["delta"] = Encoding.Latin1.GetString(FossilDelta.Create(source, target)),
            });
        }
        var json = vectors.ToString(Formatting.Indented) + "\n";
        if (Environment.GetEnvironmentVariable("COMET_WRITE_VECTORS") == "1") File.WriteAllText(VectorsPath, json);
        Assert.AreEqual(json, File.ReadAllText(VectorsPath), "regenerate with COMET_WRITE_VECTORS=1");
    }

    /// <summary>A 2 KB JSON state (a dashboard's) whose field "tick" is <paramref name="tick"/>.</summary>
    internal static byte[] State(int tick)
    {
        var state = new JObject { ["tick"] = tick };
        for (var i = 0; i < 32; i++)
            state["sensor" + i] = new JObject { ["name"] = "Sensor number " + i, ["unit"] = "°C", ["value"] = 20 + i * 0.5, ["ok"] = true };
        return Encoding.UTF8.GetBytes(state.ToString(Formatting.None));
    }

    private static byte[] RandomText(Random random, int length, bool ascii)
    {
        const string alphabet = "{}[]\":,abcdefghijklmnopqrstuvwxyz0123456789 ";
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            sb.Append(ascii || random.Next(10) > 0 ? alphabet[random.Next(alphabet.Length)] : "é你😀"[random.Next(2)]);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>A few inserts, deletes, replacements and moved blocks, on whole characters (the text stays UTF-8).</summary>
    private static byte[] Edit(Random random, byte[] source)
    {
        var text = Encoding.UTF8.GetString(source);
        var edits = random.Next(0, 6);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(0, text.Length + 1);
            var length = Math.Min(random.Next(0, 60), text.Length - at);
            text = random.Next(4) switch
            {
                0 => text.Insert(at, Encoding.UTF8.GetString(RandomText(random, random.Next(1, 40), true))),
                1 => text.Remove(at, length),
                2 => text.Remove(at, length).Insert(at, Encoding.UTF8.GetString(RandomText(random, length, false))),
                _ => text + text.Substring(at, length),
            };
            if (text.Length > 0 && char.IsLowSurrogate(text[0])) text = text[1..];
            text = new string(text.Where((c, i) => !(char.IsHighSurrogate(c) && (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])))
                && !(char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(text[i - 1])))).ToArray());
        }
        return Encoding.UTF8.GetBytes(text);
    }

    private static string Base64(uint value)
    {
        const string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~";
        var s = "";
        do { s = digits[(int)(value & 63)] + s; value >>= 6; } while (value > 0);
        return s;
    }

    private static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "Comet4Net.sln"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }
}
