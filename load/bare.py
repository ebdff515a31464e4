"""bare: the same requests as sticky_users with no checks and no evidence (benchmark baseline)."""

import itertools

from locust import FastHttpUser, constant, task

from harness.loadgen.users import CONTEXT, LocustTransport
from harness.traffic.contract import RecipeDriver

_numbers = itertools.count(1)


class BareUser(FastHttpUser):
    host = CONTEXT.get("entry_url")
    wait_time = constant(0)

    def on_start(self) -> None:
        self.transport = LocustTransport(self)
        self.driver = RecipeDriver(CONTEXT["session"], CONTEXT.get("secrets", {}))
        self.number = next(_numbers)
        self.driver.login(self.transport, self.number)
        self.driver.write(self.transport, "load", "v")

    @task(5)
    def read(self) -> None:
        self.driver.read(self.transport, "load")

    @task(2)
    def write(self) -> None:
        self.driver.write(self.transport, "load", "v")

    @task(1)
    def cart(self) -> None:
        if self.driver.has_step("cart"):
            self.driver.step("cart", self.transport, {"item": "i"})
