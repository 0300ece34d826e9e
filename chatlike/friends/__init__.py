"""The friends' test: can people who know me tell my clone's replies from mine? (stages=[friends])"""
