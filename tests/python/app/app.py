# A componentize-py app for gc-lower's tests and benchmarks: strings, lists of numbers, lists
# of records, and an error result, over the WIT world in `app.wit`.
import wit_world
from wit_world import Item
from componentize_py_types import Err


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str) -> str:
        return f"Hello, {name}! ({len(name)} chars)"

    def sum(self, xs: list[int]) -> int:
        return sum(xs)

    def describe(self, items: list[Item]) -> list[str]:
        return [f"{i.name} x{i.count}" for i in sorted(items, key=lambda i: (i.count, i.name))]

    def parse(self, text: str) -> int:
        try:
            return int(text)
        except ValueError as e:
            raise Err(str(e))

    def fib(self, n: int) -> int:
        a, b = 0, 1
        for _ in range(n):
            a, b = b, (a + b) % (1 << 64)
        return a
