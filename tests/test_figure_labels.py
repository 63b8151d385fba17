"""Figure labels: long plugin labels wrap instead of running over the panels."""


def test_long_plugin_labels_wrap_at_commas_and_brackets():
    from altbench.figures import wrap_label

    label = 'cost_aware(cost={"name": "text_length", "a": 1, "b": 0.1})'
    lines = wrap_label(label, 20).split("\n")
    assert lines == ['cost_aware(cost={', '"name": "text_length",', '"a": 1, "b": 0.1})']
    assert "".join(lines).replace(",", ", ").split() == label.replace(",", ", ").split()  # nothing lost
    assert wrap_label("margin", 20) == "margin"
