# Convenience targets; ./dev does the work and needs only bash and python3 (no make on a bare Debian).
.PHONY: run test test-slow bench
run:
	./dev run $(ARGS)
test:
	./dev test $(ARGS)
test-slow:
	./dev test-slow $(ARGS)
bench:
	./dev bench $(ARGS)
